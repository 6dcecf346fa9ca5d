/* iampass live lock: keeps an open page in step with the IAMPASS session.
 *
 * Include on protected pages (no inline code needed, CSP-friendly):
 *   <script src="/auth/live.js" defer></script>
 * Mark what must disappear while the phone is away:
 *   <section data-iampass-protected> ... </section>
 * (without any marked element, the whole <main>, or else <body>'s children, is protected).
 *
 * Optional attributes on the <script> element: data-events (the stream's URL), data-login
 * (the login page), data-locked-text (the lock notice).
 *
 * Events from {prefix}/events (the page's own path is sent as ?next=):
 *   walkaway    -> the marked content is taken out of the DOM and a lock notice is shown
 *   active      -> the content is put back (or the page reloads if it was never shown)
 *   closed, expired -> the browser goes to the login page with ?next=<this page>
 *                      (not after the page sent a form: the user is already leaving)
 *   unavailable -> nothing changes (the next request decides), a quiet notice is shown
 * Without JavaScript nothing breaks: the next request is refused as usual.
 */
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector) { return; }
  var script = document.currentScript;
  var src = script ? script.getAttribute("src") : "";
  var events = (script && script.getAttribute("data-events")) ||
    src.replace(/live\.js(\?.*)?$/, "events");
  var login = (script && script.getAttribute("data-login")) ||
    src.replace(/live\.js(\?.*)?$/, "login");
  var lockText = (script && script.getAttribute("data-locked-text")) ||
    "Locked: your phone is away. Bring it back to continue.";
  var removed = [];
  var notice = null;
  var backoff = 1000;
  var source = null;
  var state = null;
  var leaving = false;

  function protectedNodes() {
    var marked = document.querySelectorAll("[data-iampass-protected]");
    if (marked.length) { return Array.prototype.slice.call(marked); }
    var main = document.querySelector("main");
    if (main) { return [main]; }
    return Array.prototype.filter.call(document.body.children, function (el) {
      return el.tagName !== "SCRIPT";
    });
  }

  function showNotice(text, role) {
    if (!notice) {
      notice = document.createElement("div");
      notice.setAttribute("data-iampass-lock", "");
      notice.style.cssText = "";
      notice.style.margin = "3rem auto";
      notice.style.maxWidth = "28rem";
      notice.style.padding = "1.25rem 1.5rem";
      notice.style.border = "2px solid currentColor";
      notice.style.borderRadius = "12px";
      notice.style.textAlign = "center";
      notice.style.font = "600 1.1rem/1.5 system-ui, sans-serif";
      document.body.insertBefore(notice, document.body.firstChild);
    }
    notice.setAttribute("role", role || "alert");
    notice.textContent = text;
  }

  function hideNotice() {
    if (notice && notice.parentNode) { notice.parentNode.removeChild(notice); }
    notice = null;
  }

  function lock() {
    if (removed.length) { showNotice(lockText); return; }
    protectedNodes().forEach(function (el) {
      if (!el.parentNode) { return; }
      var placeholder = document.createComment("iampass: locked content");
      el.parentNode.replaceChild(placeholder, el);
      removed.push({ el: el, placeholder: placeholder });
    });
    document.documentElement.setAttribute("data-iampass-state", "locked");
    showNotice(lockText);
  }

  function unlock() {
    hideNotice();
    document.documentElement.setAttribute("data-iampass-state", "active");
    var restored = removed;
    removed = [];
    restored.forEach(function (r) {
      if (r.placeholder.parentNode) { r.placeholder.parentNode.replaceChild(r.el, r.placeholder); }
    });
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  function leave(loginUrl) {
    leaving = true;
    if (source) { source.close(); }
    // The server's login_url carries a checked `next`; build one only if it sent none.
    var target = (typeof loginUrl === "string" && loginUrl.charAt(0) === "/" &&
      loginUrl.charAt(1) !== "/" && loginUrl.charAt(1) !== "\\") ? loginUrl :
      login + (login.indexOf("?") < 0 ? "?" : "&") + "next=" + encodeURIComponent(here());
    window.location.assign(target);
  }

  function handle(next, data) {
    if (next === state) { return; }
    var previous = state;
    state = next;
    if (next === "walkaway") {
      lock();
    } else if (next === "active") {
      if (previous === "walkaway" || removed.length) { unlock(); }
      else { hideNotice(); document.documentElement.setAttribute("data-iampass-state", "active"); }
    } else if (next === "closed" || next === "expired") {
      if (removed.length === 0) { lock(); }
      leave(data && data.login_url);
    } else if (next === "unavailable") {
      if (!removed.length) { showNotice("IAMPASS cannot be reached right now; retrying\u2026", "status"); }
    }
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function connect() {
    if (leaving) { return; }
    var url = events + (events.indexOf("?") < 0 ? "?" : "&") + "next=" + encodeURIComponent(here());
    source = new EventSource(url, { withCredentials: true });
    ["active", "walkaway", "closed", "expired", "unavailable"].forEach(function (name) {
      source.addEventListener(name, function (e) { backoff = 1000; handle(name, parse(e.data)); });
    });
    source.addEventListener("heartbeat", function () { backoff = 1000; });
    source.onerror = function () {
      // The server ends the stream when the session ends; the browser would reconnect at once.
      // Reconnect ourselves with backoff (1 s doubling to 30 s) so a dead server is not hammered.
      source.close();
      if (leaving) { return; }
      var wait = backoff;
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(connect, wait);
    };
  }

  // The user leaves on their own (a form sent, such as "Sign out"): the stream's last event
  // ("closed", once the logout reached IAMPASS) must not race that navigation.
  window.addEventListener("submit", function (e) {
    if (e.defaultPrevented) { return; }
    leaving = true;
    if (source) { source.close(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
