// Progressive enhancement: every page works without this file.
(function () {
  "use strict";

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
      var m = Math.floor(left / 60), s = left % 60;
      value.textContent = m + ":" + (s < 10 ? "0" : "") + s;
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

  document.addEventListener("DOMContentLoaded", function () {
    startTimer();
    startReadingClock();
  });
})();
