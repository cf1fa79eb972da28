// Save what the server answers at `url` as a file: the name it gives (Content-Disposition), else
// `fallbackName`. The lab's report and the game's schedule are both saved this way.
function downloadFrom(url, requestHeaders, fallbackName) {
  "use strict";
  return fetch(url, { headers: requestHeaders })
    .then(function (response) {
      if (!response.ok) { throw new Error("the server answered " + response.status); }
      var name = (response.headers.get("Content-Disposition") || "").split("filename=")[1] || fallbackName;
      return response.blob().then(function (blob) { return { blob: blob, name: name.replace(/"/g, "") }; });
    })
    .then(function (file) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(file.blob);
      link.download = file.name;
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
}
