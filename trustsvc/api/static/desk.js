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

  // A form refused unread (larger than the desk takes) comes back without the purpose
  // chosen for it: this tab remembers the last one chosen, if it is still one of this
  // clerk's. Without storage (or script) the clerk chooses again.
  try {
    var remembered = "trustsvc-desk-purpose";
    var kept = window.sessionStorage.getItem(remembered);
    if (!purpose.value && kept) {
      for (var i = 0; i < purpose.options.length; i += 1) {
        if (purpose.options[i].value === kept) { purpose.value = kept; }
      }
    }
    purpose.addEventListener("change", function () {
      window.sessionStorage.setItem(remembered, purpose.value);
    });
  } catch (ignored) { /* storage refused */ }

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
