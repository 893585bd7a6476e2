/* The wallet's small script: the 亮证 code counts down and renews itself shortly before it
   expires (through the holder's JSON API, then /me/shown keeps and draws it); the grant
   form shows only the fields of the grantee chosen. Without it every form still works. */
(function () {
  "use strict";
  var RENEW_BEFORE = 20; // seconds: a code on the screen is never one about to lapse

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function formBody(fields) {
    return Object.keys(fields).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(fields[k]);
    }).join("&");
  }

  function presentation(box) {
    var data = box.dataset;
    var deadline = Date.now() + Number(data.secondsLeft) * 1000;
    var shown = document.getElementById("countdown");
    var note = document.getElementById("renew-note");
    var failed = document.getElementById("renew-error");
    var renewing = false;
    shown.hidden = false;
    note.hidden = false;

    function draw() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      shown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      shown.className = "ident" + (left <= RENEW_BEFORE ? " soon" : "");
      if (left <= RENEW_BEFORE && !renewing) { renew(); }
    }

    function renew() {
      renewing = true;
      var options = { single_use: data.singleUse === "1" };
      if (data.purpose) { options.purpose = data.purpose; }
      if (data.verifier) { options.intended_verifier = data.verifier; }
      fetch("/api/v1/me/licenses/" + encodeURIComponent(data.identifier) + "/presentations", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(options)
      }).then(function (answer) {
        if (!answer.ok) { throw new Error("presentation " + answer.status); }
        return answer.json();
      }).then(function (code) {
        return fetch("/me/shown", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: formBody({
            token: code.token, expires_at: code.expires_at, identifier: data.identifier,
            purpose: data.purpose, verifier: data.verifier, single_use: data.singleUse,
            csrf_token: csrfToken()
          })
        });
      }).then(function (answer) {
        if (!answer.ok) { throw new Error("shown " + answer.status); }
        return answer.json();
      }).then(function (kept) {
        var picture = new DOMParser().parseFromString(kept.svg, "image/svg+xml").documentElement;
        var frame = document.getElementById("presentation-qr");
        frame.replaceChildren(document.importNode(picture, true));
        document.getElementById("presentation-link").href = kept.link;
        document.getElementById("expires").textContent = kept.expires_local;
        deadline = Date.now() + kept.seconds_left * 1000;
        box.dataset.renewed = String(Number(box.dataset.renewed || "0") + 1);
        failed.hidden = true;
        renewing = false;
        draw();
      }).catch(function () {
        failed.hidden = false;
        // Try again in a while; the button does it at once.
        setTimeout(function () { renewing = false; }, 10000);
      });
    }

    draw();
    setInterval(draw, 1000);
  }

  function grantForm(form) {
    var groups = form.querySelectorAll("fieldset.grantee");
    function showChosen() {
      var chosen = form.querySelector('input[name="grantee_kind"]:checked');
      groups.forEach(function (group) {
        group.hidden = !chosen || group.dataset.kind !== chosen.value;
      });
    }
    form.querySelectorAll('input[name="grantee_kind"]').forEach(function (radio) {
      radio.addEventListener("change", showChosen);
    });
    showChosen();
  }

  document.documentElement.classList.add("js");
  var box = document.getElementById("presentation");
  if (box) { presentation(box); }
  var form = document.getElementById("grant-form");
  if (form) { grantForm(form); }
})();
