// Autosave of the merged form: a second after typing stops, the text fields are saved to
// the applicant's draft on the server. The form works without this script.
(function () {
  "use strict";
  var form = document.getElementById("apply-form");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("autosave-status");
  var bundle = form.getAttribute("data-bundle");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null;

  function collect() {
    var data = {};
    var addresses = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.type === "submit" || el.name === "csrf_token" ||
          el.name.indexOf("remove__") === 0) { return; }
      if ((el.type === "radio") && !el.checked) { return; }
      var value = el.type === "checkbox" ? el.checked : el.value.trim();
      var dot = el.name.indexOf(".");
      if (dot > 0) {
        var key = el.name.slice(0, dot);
        addresses[key] = addresses[key] || {};
        addresses[key][el.name.slice(dot + 1)] = value;
      } else if (value !== "") {
        data[el.name] = value;
      }
    });
    Object.keys(addresses).forEach(function (key) {
      if (addresses[key].detail) { data[key] = addresses[key]; }
    });
    return data;
  }

  function save() {
    fetch("/api/v1/drafts/" + encodeURIComponent(bundle), {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ data: collect() })
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      var now = new Date();
      status.textContent = "已自动保存（" + now.getHours() + ":" + String(now.getMinutes()).padStart(2, "0") + "）";
    }).catch(function () {
      status.textContent = "网络连接异常，内容暂未保存；恢复后会自动重试，也可点击“保存草稿”。";
      timer = setTimeout(save, 10000);
    });
  }

  form.addEventListener("input", function (e) {
    if (e.target.type === "file") { return; }
    clearTimeout(timer);
    timer = setTimeout(save, 1000);
  });
})();
// Conditional fields (邮寄地址 only when the result is mailed) are hidden while their
// condition is not met; without this script they stay visible with the condition beside
// the label, and the server ignores them when the condition is not met.
(function () {
  "use strict";
  var form = document.getElementById("apply-form");
  if (!form) { return; }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var dependents = form.querySelectorAll("[data-when-field]");
  function update() {
    Array.prototype.forEach.call(dependents, function (div) {
      var control = form.elements[div.getAttribute("data-when-field")];
      var values = (div.getAttribute("data-when-values") || "").split(" ");
      var current = control ? control.value : "";
      div.hidden = values.indexOf(current) < 0;
    });
  }
  if (!dependents.length) { return; }
  form.addEventListener("change", update);
  update();
}());
// The address picker: choosing a province, city or county fetches the next level's
// choices. Without this script the button beside the picker saves and brings them.
(function () {
  "use strict";
  var LEVELS = ["province", "city", "county", "township"];
  var LABELS = { city: "市（地区、州）", county: "区县", township: "乡镇（街道）" };
  var pickers = document.querySelectorAll(".region-picker");
  if (!pickers.length || !window.fetch) { return; }
  Array.prototype.forEach.call(document.querySelectorAll(".region-refresh"), function (b) { b.hidden = true; });
  Array.prototype.forEach.call(pickers, function (picker) {
    var key = picker.parentNode.getAttribute("data-address");
    function removeAfter(level) {
      LEVELS.slice(LEVELS.indexOf(level) + 1).forEach(function (l) {
        var select = document.getElementById(key + "-" + l);
        if (select) {
          var label = picker.querySelector("label[for='" + key + "-" + l + "']");
          if (label) { label.remove(); }
          select.remove();
        }
      });
    }
    picker.addEventListener("change", function (e) {
      var level = e.target.getAttribute("data-level");
      if (!level) { return; }
      removeAfter(level);
      var next = LEVELS[LEVELS.indexOf(level) + 1];
      if (!e.target.value || !next) { return; }
      fetch("/api/v1/regions?parent=" + encodeURIComponent(e.target.value))
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          if (!items.length) { return; }
          var label = document.createElement("label");
          label.className = "sub";
          label.htmlFor = key + "-" + next;
          label.textContent = LABELS[next];
          var select = document.createElement("select");
          select.id = key + "-" + next;
          select.name = key + "." + next;
          select.setAttribute("data-level", next);
          select.add(new Option("请选择", ""));
          items.forEach(function (d) { select.add(new Option(d.name, d.code)); });
          picker.appendChild(label);
          picker.appendChild(select);
        });
    });
  });
}());
