/* A form sent back with errors: focus its error summary, so that screen readers announce it and
   keyboard users start from it; a link in the summary focuses the field it names and shows the
   field's label too (GOV.UK's error summary). Without script the links still jump to the field. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest('a[href^="#"]');
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    (field.closest(".field") || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
