// Progressive enhancement only: every page works without this file.
// "Print" opens the browser's print dialog instead of the print view.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("#print") : null;
  if (link && window.print) {
    event.preventDefault();
    window.print();
  }
});
