// The emulator's phone page (templates/emulator/phone.html): renders the state the
// event stream sends and sends the buttons' actions to the control API.
(function () {
  "use strict";
  var body = document.body;
  var params = new URLSearchParams();
  if (body.dataset.appId) { params.set("app_id", body.dataset.appId); }
  if (body.dataset.user) { params.set("user", body.dataset.user); }
  var query = params.toString();
  var notice = document.getElementById("notice");
  var last = {};
  // Pending requests of users already signed in to the same application (step-ups).
  var stepUps = [];

  function node(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function button(action, label, session) {
    var b = node("button", null, label);
    b.type = "button";
    b.setAttribute("data-action", action);
    b.setAttribute("data-session", session);
    return b;
  }
  function sessionItem(s) {
    var li = node("li", "item");
    li.setAttribute("data-session", s.session_token);
    li.setAttribute("data-user", s.user);
    li.setAttribute("data-app", s.app_id);
    li.setAttribute("data-status", s.session_status);
    var head = node("div");
    head.appendChild(node("span", "user", s.user));
    head.appendChild(document.createTextNode(" "));
    var badgeClass = s.session_status === "active" || s.session_status === "walkaway" ? "badge " + s.session_status : "badge";
    head.appendChild(node("span", badgeClass, s.session_status));
    li.appendChild(head);
    return li;
  }
  var renderers = {
    pending: function (s) {
      var li = sessionItem(s);
      if (stepUps.indexOf(s.session_token) >= 0) {
        li.appendChild(node("div", "meta step-up", "Confirm again: you are already signed in to " + s.app_id + " · " + s.methods.join(", ")));
      } else {
        li.appendChild(node("div", "meta", s.app_id + " asks you to sign in · " + s.methods.join(", ")));
      }
      var actions = node("div", "actions");
      actions.appendChild(button("approve", "Approve", s.session_token));
      actions.appendChild(button("deny", "Deny", s.session_token));
      li.appendChild(actions);
      return li;
    },
    sessions: function (s) {
      var li = sessionItem(s);
      li.appendChild(node("div", "meta", s.app_id));
      var actions = node("div", "actions");
      if (s.session_status === "active") {
        actions.appendChild(button("walkaway", "Walk away", s.session_token));
      } else {
        actions.appendChild(button("return", "Come back", s.session_token));
      }
      actions.appendChild(button("close", "Log out", s.session_token));
      li.appendChild(actions);
      return li;
    },
    devices: function (d) {
      var li = node("li", "item");
      li.setAttribute("data-app", d.app_id);
      li.setAttribute("data-user", d.user);
      li.appendChild(node("div", "user", d.user));
      li.appendChild(node("div", "meta", d.app_id + (d.display_name ? " · " + d.display_name : "")));
      return li;
    },
    sms: function (m) {
      var li = node("li", "item");
      li.setAttribute("data-app", m.app_id);
      li.setAttribute("data-user", m.user);
      li.appendChild(node("div", "meta", "to " + m.phone_number + " · " + m.app_id + " / " + m.user));
      li.appendChild(node("div", "msg", m.message));
      var a = node("a", null, "Open the link");
      a.href = m.register_url;
      li.appendChild(a);
      return li;
    }
  };

  function render(state) {
    stepUps = state.step_ups || [];
    Object.keys(renderers).forEach(function (id) {
      var items = state[id] || [];
      var key = JSON.stringify(items) + (id === "pending" ? JSON.stringify(stepUps) : "");
      if (last[id] === key) { return; }
      last[id] = key;
      var list = document.getElementById(id);
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items.forEach(function (item) { list.appendChild(renderers[id](item)); });
      document.getElementById(id + "-empty").hidden = items.length > 0;
    });
  }

  try {
    var initial = JSON.parse(body.dataset.initial || "{}");
    stepUps = initial.step_ups || [];
    Object.keys(renderers).forEach(function (id) {
      last[id] = JSON.stringify(initial[id] || []) + (id === "pending" ? JSON.stringify(stepUps) : "");
    });
  } catch (e) {
    last = {};
  }

  // The page follows the emulator through a Server-Sent Events stream; the browser
  // reconnects by itself, and a stream that was refused is opened again after a pause.
  var eventsUrl = "/phone/events" + (query ? "?" + query : "");
  function offline() {
    body.dataset.stream = "retrying";
    notice.textContent = "The emulator is not reachable; retrying…";
    notice.dataset.kind = "offline";
  }
  function connect() {
    var source = new EventSource(eventsUrl);
    source.addEventListener("open", function () {
      body.dataset.stream = "open";
      if (notice.dataset.kind === "offline") { notice.textContent = ""; notice.dataset.kind = ""; }
    });
    source.addEventListener("state", function (ev) {
      try { render(JSON.parse(ev.data)); } catch (e) { /* the next event repairs it */ }
    });
    source.addEventListener("error", function () {
      offline();
      if (source.readyState === EventSource.CLOSED) { setTimeout(connect, 2000); }
    });
  }

  function post(url) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) { throw new Error(j.error || ("HTTP " + r.status)); }
          return j;
        });
      });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-action]") : null;
    if (!b || b.disabled) { return; }
    var action = b.getAttribute("data-action");
    b.disabled = true;
    notice.textContent = ""; notice.dataset.kind = "";
    var done;
    if (action === "register") {
      var token = b.getAttribute("data-token");
      done = post("/_emulator/registrations/" + encodeURIComponent(token)).then(function (r) {
        var panel = document.getElementById("registration");
        panel.className = "done";
        while (panel.firstChild) { panel.removeChild(panel.firstChild); }
        panel.appendChild(node("h2", null, "Registration"));
        panel.appendChild(node("p", "msg registered", "This phone is now registered for " + (r.display_name || r.user) + "."));
      });
    } else {
      var session = b.getAttribute("data-session");
      done = post("/_emulator/sessions/" + encodeURIComponent(session) + "/" + encodeURIComponent(action));
    }
    // The stream shows the outcome; only a refusal is shown here.
    done.catch(function (e) { notice.textContent = e.message; b.disabled = false; });
  });

  connect();
})();
