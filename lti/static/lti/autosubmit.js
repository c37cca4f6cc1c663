// Posts the deep-linking response back to the LMS at once (the button stays for browsers without script).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});
