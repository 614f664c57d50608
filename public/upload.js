// Progressive enhancement of the Imports page's upload form
// (form[data-upload]): drop a file on it, and watch a progress bar while the
// file uploads and while the server imports it. Without this script the form
// is a plain multipart post and works the same, without the bar. Delegated
// from the document, so it works however the page was reached.
(function () {
  "use strict";

  function progressParts(form) {
    const box = form.querySelector("[data-upload-progress]");
    return { box, bar: box.querySelector("progress"), status: box.querySelector("[data-upload-status]") };
  }

  function show(form, phase, fraction, text) {
    const { box, bar, status } = progressParts(form);
    box.hidden = false;
    box.dataset.phase = phase;
    if (fraction === null) {
      bar.removeAttribute("value");
    } else {
      bar.value = Math.round(fraction * 100);
    }
    status.textContent = text;
  }

  function fail(form, message) {
    show(form, "failed", 0, message);
    form.querySelector("button[type=submit]").disabled = false;
  }

  // The last complete NDJSON line of what the server sent so far.
  function lastLine(text) {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0) return null;
    try {
      return JSON.parse(lines[lines.length - 1]);
    } catch (_) {
      return lines.length > 1 ? JSON.parse(lines[lines.length - 2]) : null;
    }
  }

  function upload(form) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.upload.addEventListener("progress", (e) => {
      const fraction = e.lengthComputable ? e.loaded / e.total : null;
      show(form, "uploading", fraction, "Uploading… " + (fraction === null ? "" : Math.round(fraction * 100) + "%"));
    });
    xhr.upload.addEventListener("load", () => show(form, "importing", null, "Importing…"));
    xhr.addEventListener("progress", () => {
      const line = lastLine(xhr.responseText);
      if (line && line.rows !== undefined) {
        const fraction = line.bytes !== null && line.total ? line.bytes / line.total : null;
        const rows = line.rows.toLocaleString("en-US");
        show(form, "importing", fraction, "Importing… " + rows + " rows read");
      }
    });
    xhr.addEventListener("load", () => {
      const line = lastLine(xhr.responseText);
      if (xhr.status !== 200 || !line) {
        fail(form, (line && line.error) || "The upload failed (HTTP " + xhr.status + ").");
      } else if (line.error) {
        fail(form, line.error);
      } else {
        show(form, line.status, 1, line.status === "done" ? "Imported." : "Rejected.");
        const page = form.action.replace(/\/upload$/, "");
        window.location.assign(page + (line.import_id ? "?import=" + line.import_id : ""));
      }
    });
    xhr.addEventListener("error", () => fail(form, "The upload failed: the server could not be reached."));
    show(form, "uploading", 0, "Uploading…");
    xhr.send(new FormData(form));
  }

  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-upload]");
    if (!form || !window.FormData) return;
    e.preventDefault();
    upload(form);
  });

  function dropZone(e) {
    return e.target.closest && e.target.closest("form[data-upload] [data-drop-zone]");
  }
  document.addEventListener("dragover", (e) => {
    const zone = dropZone(e);
    if (!zone) return;
    e.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", (e) => {
    const zone = dropZone(e);
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (e) => {
    const zone = dropZone(e);
    if (!zone || !e.dataTransfer || e.dataTransfer.files.length === 0) return;
    e.preventDefault();
    zone.classList.remove("dragging");
    const input = zone.querySelector("input[type=file]");
    input.files = e.dataTransfer.files;
    upload(zone.closest("form"));
  });
})();
