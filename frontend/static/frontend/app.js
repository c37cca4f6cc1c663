// Progressive enhancement: every page works without this file.
(function () {
  "use strict";

  // m:ss, or h:mm:ss from an hour: the same format as the server's `mmss` filter.
  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? (m < 10 ? "0" : "") + m : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }

  // Countdown that follows the server's deadline (seconds left at render time, measured here with a
  // monotonic clock so a wrong device clock cannot shift it). The server enforces the limit anyway.
  function startTimer() {
    var el = document.getElementById("timer");
    if (!el) return;
    var secondsLeft = parseInt(el.dataset.secondsLeft, 10);
    var started = performance.now();
    var value = document.getElementById("timer-value");
    var submitted = false;
    function tick() {
      var left = Math.max(0, secondsLeft - Math.floor((performance.now() - started) / 1000));
      value.textContent = clock(left);
      el.classList.toggle("low", left <= 60);
      if (left === 120 || left === 30) el.setAttribute("aria-live", "assertive");
      if (left === 0 && !submitted) {
        submitted = true;
        var form = document.createElement("form");
        form.method = "post";
        form.action = el.dataset.submitUrl;
        var token = document.querySelector("input[name=csrfmiddlewaretoken]");
        if (token) form.appendChild(token.cloneNode());
        document.body.appendChild(form);
        form.submit();
        return;
      }
      setTimeout(tick, 1000);
    }
    tick();
  }

  // Autosave failures: show a quiet warning and retry; what was typed stays in the form.
  var pending = {};
  function warn(show) {
    var el = document.getElementById("network-warning");
    if (el) el.hidden = !show;
  }
  document.addEventListener("htmx:sendError", function (evt) { retry(evt); });
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    if (status >= 500 || status === 0) retry(evt);
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.successful) {
      var id = evt.detail.elt && evt.detail.elt.dataset ? evt.detail.elt.dataset.question : null;
      if (id) delete pending[id];
      if (Object.keys(pending).length === 0) warn(false);
    }
  });
  function retry(evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.dataset || !elt.dataset.question) return;
    var id = elt.dataset.question;
    warn(true);
    pending[id] = (pending[id] || 0) + 1;
    var delay = Math.min(30000, 2000 * pending[id]);
    setTimeout(function () { if (window.htmx) htmx.trigger(elt, "change"); }, delay);
  }

  // One submit per click: a double click must not send two requests.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.dataset.submitting) { evt.preventDefault(); return; }
    form.dataset.submitting = "1";
    setTimeout(function () { delete form.dataset.submitting; }, 4000);
  });

  // Reading time: a heartbeat every 30 s while the lesson is visible.
  function startReadingClock() {
    var lesson = document.querySelector("[data-ping-url]");
    if (!lesson) return;
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    setInterval(function () {
      if (document.visibilityState !== "visible") return;
      var body = new FormData();
      body.append("seconds", "30");
      fetch(lesson.dataset.pingUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" },
      }).catch(function () {});
    }, 30000);
  }

  // After an autosave the server says whether the question now counts as answered (its rule, not ours):
  // the navigator entry and the answered count follow without a reload.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var status = evt.detail.target && evt.detail.target.querySelector("[data-answered]");
    var fieldset = evt.detail.elt && evt.detail.elt.closest ? evt.detail.elt.closest("[data-question]") : null;
    if (!status || !fieldset) return;
    var entry = document.getElementById("nav-" + fieldset.dataset.question);
    if (entry) {
      var answered = status.dataset.answered === "1";
      entry.classList.toggle("answered", answered);
      var label = entry.getAttribute("aria-label") || "";
      entry.setAttribute("aria-label", answered ? label.replace(", not answered", ", answered")
                                                : label.replace(", answered", ", not answered"));
    }
    var count = document.getElementById("answered-count");
    if (count) count.textContent = document.querySelectorAll(".map-list .nav-q.answered").length;
  });

  // Ordering: mark the positions given to two steps at once, before the server's message arrives.
  document.addEventListener("change", function (evt) {
    var list = evt.target.closest ? evt.target.closest("[data-ordering]") : null;
    if (!list) return;
    var selects = list.querySelectorAll("select"), seen = {};
    selects.forEach(function (s) { if (s.value) seen[s.value] = (seen[s.value] || 0) + 1; });
    selects.forEach(function (s) {
      if (s.value && seen[s.value] > 1) s.setAttribute("aria-invalid", "true");
      else s.removeAttribute("aria-invalid");
    });
  });

  // Print buttons (no inline handlers: the Content Security Policy forbids them).
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("DOMContentLoaded", function () {
    startTimer();
    startReadingClock();
  });
})();
