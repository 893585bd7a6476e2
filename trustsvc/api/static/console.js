/* The department console: field messages in Chinese, check characters, one submit, progress. */
(function () {
  "use strict";
  var CITIZEN_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CITIZEN_CHECKS = "10X98765432";
  var CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // GB 11643: the 18th character of a citizen ID number.
  function citizenOk(value) {
    if (!/^[0-9]{17}[0-9X]$/.test(value)) { return true; } // the pattern reports the shape
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += Number(value[i]) * CITIZEN_WEIGHTS[i]; }
    return CITIZEN_CHECKS[sum % 11] === value[17];
  }

  // GB 32100: the 18th character of a unified social credit code.
  function creditOk(value) {
    if (value.length !== 18) { return true; }
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      var n = CREDIT_CHARS.indexOf(value[i]);
      if (n < 0) { return true; }
      sum += n * CREDIT_WEIGHTS[i];
    }
    var check = (31 - (sum % 31)) % 31;
    return CREDIT_CHARS[check] === value[17];
  }

  function errorOf(input) {
    return document.getElementById("e-" + input.name);
  }

  function message(input) {
    var label = input.getAttribute("data-label") || "";
    var v = input.validity;
    if (v.valueMissing) { return (input.tagName === "SELECT" ? "请选择" : "请填写") + label; }
    if (v.patternMismatch) { return input.getAttribute("data-pattern-message") || label + "格式不对"; }
    if (v.tooLong) { return label + "太长了"; }
    if (v.rangeUnderflow || v.rangeOverflow) { return label + "超出可用范围"; }
    if (v.badInput) { return label + "请按“年-月-日”填写"; }
    if (v.customError) { return input.validationMessage; }
    return "";
  }

  function check(input) {
    var rule = input.getAttribute("data-check");
    if (rule) {
      var value = input.value.trim().toUpperCase();
      var ok = rule === "citizen-id" ? citizenOk(value) : creditOk(value);
      input.setCustomValidity(ok ? "" : (input.getAttribute("data-label") || "") + "的校验位不对，请核对是否输错");
    }
    var error = errorOf(input);
    var text = input.checkValidity() ? "" : message(input);
    if (error) {
      error.textContent = text;
      error.hidden = !text;
    }
    if (text) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    return !text;
  }

  var form = document.querySelector("form.license-form");
  if (form) {
    var inputs = form.querySelectorAll("input[name], select[name], textarea[name]");
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.type === "hidden" || input.type === "file") { return; }
      input.addEventListener("invalid", function (event) {
        event.preventDefault(); // our message under the field, not the browser's bubble
        check(input);
      });
      // A message goes as soon as the field is put right; one is shown only on sending,
      // so nothing moves under the pointer between pressing a button and letting go.
      input.addEventListener("input", function () {
        if (input.getAttribute("data-check")) { input.setCustomValidity(""); }
        if (input.getAttribute("aria-invalid") === "true") { check(input); }
      });
    });
    form.addEventListener("submit", function (event) {
      // A preview of the placement needs the file only: the record is checked on issuing.
      if (event.submitter && event.submitter.hasAttribute("formnovalidate")) { return; }
      var first = null;
      Array.prototype.forEach.call(inputs, function (input) {
        if (input.type === "hidden" || input.type === "file") { return; }
        if (!check(input) && !first) { first = input; }
      });
      if (first) {
        event.preventDefault();
        first.focus();
        return;
      }
      var button = event.submitter;
      if (button && button.getAttribute("data-once")) {
        // One issue per form: a second click waits for the first (the server issues once anyway).
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.getAttribute("data-once");
        }, 0);
      }
    });
  }

  var job = document.getElementById("job");
  if (job && job.getAttribute("data-status") !== "done") {
    var bar = document.getElementById("bar");
    var counts = document.getElementById("counts");
    var poll = function () {
      fetch(job.getAttribute("data-progress"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (p) {
          bar.max = p.total;
          bar.value = p.done;
          counts.textContent = "共 " + p.total + " 行，已处理 " + p.done + " 行：签发 " + p.issued +
            "，重复 " + p.duplicates + "，有误 " + p.errors + "。";
          if (p.status === "done") { window.location.reload(); } else { window.setTimeout(poll, 800); }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }
})();
