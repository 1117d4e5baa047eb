// Upload many photos with a progress bar each. One request per file, so every file gets its
// own answer (accepted, duplicate, or rejected with a reason). Without this script the form
// still works: the browser posts all files at once and the page lists the results.
(function () {
  "use strict";

  var PARALLEL = 3;
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;

  var input = form.querySelector('input[type="file"]');
  var dropzone = form.querySelector("[data-dropzone]");
  var results = document.getElementById("upload-results");
  var token = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var maxBytes = parseInt(form.dataset.maxBytes, 10) || 0;
  var queue = [];
  var running = 0;

  function formatSize(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(0) + " MB" : Math.ceil(bytes / 1024) + " KB";
  }

  function row(file) {
    var li = document.createElement("li");
    li.className = "upload-result upload-pending";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name; // textContent: a file name is never HTML
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    li.appendChild(name);
    li.appendChild(bar);
    results.insertBefore(li, results.firstChild);
    return li;
  }

  function fail(li, message) {
    li.className = "upload-result upload-rejected";
    var bar = li.querySelector("progress");
    if (bar) bar.remove();
    var text = document.createElement("span");
    text.className = "upload-message";
    text.setAttribute("role", "alert");
    text.textContent = message;
    li.appendChild(text);
  }

  function enqueue(files) {
    Array.prototype.forEach.call(files, function (file) {
      var li = row(file);
      if (maxBytes && file.size > maxBytes) {
        fail(li, "The file is larger than the limit of " + formatSize(maxBytes) + ".");
        return;
      }
      queue.push({ file: file, li: li });
    });
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      send(queue.shift());
    }
  }

  function finished() {
    running -= 1;
    // The processing panel listens for this (htmx trigger "photos-uploaded from:body").
    document.body.dispatchEvent(new CustomEvent("photos-uploaded", { bubbles: true }));
    pump();
  }

  function send(job) {
    running += 1;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token);
    data.append("files", job.file, job.file.name);
    var xhr = new XMLHttpRequest();
    var bar = job.li.querySelector("progress");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && bar) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var html = xhr.responseText || "";
      if (html.indexOf("upload-result") !== -1) {
        // Our own server's rendering of the result row, escaped by Django's templates.
        job.li.outerHTML = html;
      } else if (xhr.status === 413) {
        fail(job.li, "The file is too large for the server.");
      } else {
        fail(job.li, "Upload failed (HTTP " + xhr.status + "). Try again.");
      }
      finished();
    });
    xhr.addEventListener("error", function () {
      fail(job.li, "The connection failed. Try again.");
      finished();
    });
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.send(data);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (input.files.length) enqueue(input.files);
    input.value = "";
  });
  input.addEventListener("change", function () {
    if (input.files.length) enqueue(input.files);
    input.value = "";
  });

  if (dropzone) {
    ["dragenter", "dragover"].forEach(function (name) {
      dropzone.addEventListener(name, function (event) {
        event.preventDefault();
        dropzone.classList.add("dropzone-active");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      dropzone.addEventListener(name, function () {
        dropzone.classList.remove("dropzone-active");
      });
    });
    dropzone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) enqueue(event.dataTransfer.files);
    });
  }

  // The progress panel stays in view under the header while the list of files grows.
  function pinProgress() {
    var panel = document.getElementById("upload-progress");
    var header = document.querySelector(".topbar");
    if (panel && header) panel.style.top = header.offsetHeight + 8 + "px";
  }
  pinProgress();
  window.addEventListener("resize", pinProgress);

  // Each answer of the progress panel carries the rows of the photos that finished since the
  // last one (done, with their faces, or failed): they replace the rows still waiting.
  document.body.addEventListener("htmx:load", function (event) {
    var panel = event.detail.elt;
    if (!panel || panel.id !== "upload-progress") return;
    pinProgress();
    var rows = panel.querySelector("template[data-upload-rows]");
    if (!rows) return;
    Array.prototype.forEach.call(rows.content.querySelectorAll("li[id]"), function (row) {
      var waiting = document.getElementById(row.id);
      if (waiting && waiting.hasAttribute("data-pending")) waiting.replaceWith(row.cloneNode(true));
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (running || queue.length) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
