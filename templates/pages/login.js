/* iampass login page script, served as {prefix}/login.js so the page needs no inline code
 * (Content-Security-Policy: script-src 'self'). It also drives the step-up page (form
 * iampass-step-up). Without JavaScript the form posts and a self-refreshing wait page takes
 * over. */
(function () {
  "use strict";
  var form = document.getElementById("iampass-login") || document.getElementById("iampass-step-up");
  if (!form || !window.fetch || !window.JSON) { return; }
  var stepUp = form.id === "iampass-step-up";
  var status = document.getElementById("iampass-status");
  var text = document.getElementById("iampass-status-text");
  var spinner = document.getElementById("iampass-spinner");
  var button = form.querySelector("button");
  var texts = {
    pending: "Check your phone and approve the sign-in\u2026",
    identifying: "Your phone is confirming it is you\u2026",
    walkaway: "Your phone seems to be away; bring it back nearby\u2026",
    failed: "Sign-in was refused.",
    timeout: "The request on your phone timed out.",
    cancelled: "The request was cancelled on your phone.",
    closed: "The sign-in was ended."
  };
  if (stepUp) {
    texts.pending = "Check your phone and approve the request\u2026";
    texts.failed = "Not confirmed: the request was refused on your phone. You are still signed in.";
    texts.timeout = "Not confirmed: the request on your phone timed out. You are still signed in.";
    texts.cancelled = "Not confirmed: the request was cancelled. You are still signed in.";
  }
  function show(message, busy, failed) {
    text.textContent = message;
    spinner.hidden = !busy;
    status.className = failed ? "status error" : "status";
  }
  function fail(message) {
    show(message + " You can try again.", false, true);
    button.disabled = false;
  }
  function answer(response) {
    return response.json().then(function (body) { return { code: response.status, body: body || {} }; },
                                function () { return { code: response.status, body: {} }; });
  }
  function poll(url, errors) {
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "wait=25",
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(answer)
      .then(function (res) {
        var s = res.body.status;
        if (s === "active") {
          show(stepUp ? "Confirmed. Taking you there\u2026" : "Signed in. Taking you there\u2026", true, false);
          window.location.assign(res.body.redirect || "/");
        } else if (res.code === 503 || res.code >= 500) {
          if (errors > 20) { fail("IAMPASS cannot be reached."); return; }
          show("IAMPASS cannot be reached; retrying\u2026", true, false);
          setTimeout(function () { poll(url, errors + 1); }, 2000);
        } else if (s === "pending" || s === "identifying" || s === "walkaway") {
          show(texts[s], true, false);
          poll(url, 0);
        } else if (res.code === 401) {
          fail(res.body.message || "Your sign-in request expired.");
        } else {
          fail(res.body.message || texts[s] || "Sign-in failed.");
        }
      }, function () {
        if (errors > 20) { fail("The network is unavailable."); return; }
        setTimeout(function () { poll(url, errors + 1); }, 2000);
      });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { next: form.elements["next"].value };
    if (stepUp) {
      var methods = form.elements["methods"] ? form.elements["methods"].value : "";
      if (methods) { body.methods = methods.split(","); }
    } else {
      body.user = form.elements["user"].value;
      if (!body.user) { show("Please enter your user name.", false, true); return; }
    }
    button.disabled = true;
    show("Asking your phone\u2026", true, false);
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(answer).then(function (res) {
      if (res.code === 202) {
        show(texts.pending, true, false);
        poll(res.body.poll_url || form.getAttribute("data-poll"), 0);
      } else if (res.body.message) {
        fail(res.body.message);
      } else if (res.code === 429) {
        fail("Too many sign-in attempts; please wait a minute.");
      } else if (res.code === 503) {
        fail("IAMPASS cannot be reached right now.");
      } else {
        fail("Sign-in could not start.");
      }
    }, function () { fail("The network is unavailable."); });
  });
})();
