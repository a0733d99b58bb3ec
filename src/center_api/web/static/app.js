// The try-it page: send the chosen photo to the chosen tool, show before/after, offer curl.
"use strict";

const $ = (id) => document.getElementById(id);
const form = $("try"), drop = $("drop"), fileInput = $("file"), tool = $("tool");
const statusLine = $("status"), result = $("result"), slider = $("slider");
let beforeUrl = null, afterUrl = null;

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", Boolean(isError));
}

function showOptions() {
  for (const row of document.querySelectorAll("[data-tools]")) {
    const shown = row.dataset.tools.split(" ").includes(tool.value);
    row.hidden = !shown;
    for (const input of row.querySelectorAll("input, select")) input.disabled = !shown;
  }
}

function chosenFields() {
  const fields = [];
  for (const input of $("options").querySelectorAll("input, select")) {
    if (input.disabled) continue;
    if (input.type === "checkbox") { if (input.checked) fields.push([input.name, "true"]); continue; }
    fields.push([input.name, input.type === "color" ? input.value.slice(1) : input.value]);
  }
  return fields;
}

function curlLine(fields, fileName, extension) {
  const parts = ["curl", "-F", `file=@${fileName}`];
  for (const [name, value] of fields) parts.push("-F", `${name}=${value}`);
  if ($("key").value) parts.push("-H", "\"X-API-Key: $CENTER_API_KEY\"");
  parts.push(new URL(tool.value, location.href).href, "-o", `result.${extension}`);
  return parts.map((p) => (/[\s&;]/.test(p) && !p.startsWith("\"") ? `'${p}'` : p)).join(" ");
}

function setSlider() {
  $("after-clip").style.clipPath = `inset(0 0 0 ${slider.value}%)`;
}

async function run(event) {
  event.preventDefault();
  const file = fileInput.files[0];
  if (!file) { say("Choose a photo first.", true); fileInput.focus(); return; }
  const fields = chosenFields();
  const body = new FormData();
  body.append("file", file);
  for (const [name, value] of fields) body.append(name, value);
  const headers = $("key").value ? { "X-API-Key": $("key").value } : {};
  $("run").disabled = true;
  say("Working…");
  try {
    const response = await fetch(tool.value, { method: "POST", body, headers });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      const error = answer.error || {};
      say(`${response.status} ${error.code || ""}: ${error.message || response.statusText}`, true);
      return;
    }
    const blob = await response.blob();
    const extension = (blob.type.split("/")[1] || "png").replace("jpeg", "jpg");
    if (beforeUrl) URL.revokeObjectURL(beforeUrl);
    if (afterUrl) URL.revokeObjectURL(afterUrl);
    beforeUrl = URL.createObjectURL(file);
    afterUrl = URL.createObjectURL(blob);
    $("before").src = beforeUrl;
    $("after").src = afterUrl;
    $("download").href = afterUrl;
    $("download").download = `result.${extension}`;
    $("curl").value = curlLine(fields, file.name, extension);
    result.hidden = false;
    setSlider();
    const ms = response.headers.get("X-Processing-Ms");
    say(`Done: ${response.headers.get("X-Width")}×${response.headers.get("X-Height")}` +
        (ms ? ` in ${Math.round(Number(ms))} ms.` : "."));
  } catch (error) {
    say(`The server could not be reached: ${error.message}`, true);
  } finally {
    $("run").disabled = false;
  }
}

drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) {
    fileInput.files = event.dataTransfer.files;
    fileInput.dispatchEvent(new Event("change"));
  }
});
fileInput.addEventListener("change", () => {
  const file = fileInput.files[0];
  $("drop-text").textContent = file ? `Photo: ${file.name}` : "Choose a photo or drop it here";
});
tool.addEventListener("change", showOptions);
slider.addEventListener("input", setSlider);
form.addEventListener("submit", run);
showOptions();
