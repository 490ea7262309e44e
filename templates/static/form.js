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
