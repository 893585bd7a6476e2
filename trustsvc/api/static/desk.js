// The clerk's desk: the scanner field keeps the focus, a dropped or chosen file is checked
// at once. Everything works without this script; it only saves clicks.
(function () {
  "use strict";
  var form = document.getElementById("desk-form");
  if (!form) { return; }
  var scanned = document.getElementById("scanned");
  var purpose = document.getElementById("purpose");
  var pdf = document.getElementById("pdf");
  var photo = document.getElementById("photo");
  var drop = document.getElementById("drop");

  function send(button) {
    if (!purpose.value) { purpose.focus(); purpose.reportValidity(); return; }
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  // Ready for the next scan, without scrolling the result away.
  if (scanned) { scanned.focus({ preventScroll: true }); }

  pdf.addEventListener("change", function () {
    if (pdf.files && pdf.files.length) { send(document.getElementById("check-pdf")); }
  });
  photo.addEventListener("change", function () {
    if (photo.files && photo.files.length) { send(document.getElementById("check-photo")); }
  });

  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) { return; }
    var chosen = new DataTransfer();
    chosen.items.add(files[0]);
    pdf.files = chosen.files;
    send(document.getElementById("check-pdf"));
  });
})();
