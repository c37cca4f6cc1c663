// The override form shows only the fields of the chosen kind (extra attempt: the quiz; due-date
// extension: the course and the new date; ...). Hidden fields are disabled so they are not sent.
// Without JavaScript every field shows and the server ignores the ones a kind does not use.
(function () {
  "use strict";
  function update(form) {
    var kind = form.querySelector("select[name=kind]").value;
    form.querySelectorAll("[data-kinds]").forEach(function (group) {
      var shown = group.dataset.kinds.split(" ").indexOf(kind) !== -1;
      group.hidden = !shown;
      group.querySelectorAll("input, select").forEach(function (field) { field.disabled = !shown; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-override-form]").forEach(function (form) {
      form.querySelector("select[name=kind]").addEventListener("change", function () { update(form); });
      update(form);
    });
  });
})();
