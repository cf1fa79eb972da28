// The live lab: start a race, poll what its jobs did, draw a lane per job as it fills in.
(function () {
  "use strict";
  var LABEL_W = 190, PLOT_W = 760, LANE_H = 12, GAP = 3, MAX_LANES = 400, POLL_MS = 300;
  var form = document.getElementById("lab-form");
  var lesson = document.getElementById("lesson");
  var custom = document.getElementById("custom");
  var runButton = document.getElementById("run");
  var stopButton = document.getElementById("stop");
  var downloadButton = document.getElementById("download");
  var statusLine = document.getElementById("status");
  var commandBox = document.getElementById("command");
  var checkBox = document.getElementById("check");
  var live = document.getElementById("live");
  var state = { next: 0, runs: {}, order: [], polling: null, raceState: null };

  function headers(json) {
    var out = {};
    var token = document.getElementById("token").value;
    if (token) { out["X-Admin-Token"] = token; }
    if (json) { out["Content-Type"] = "application/json"; }
    return out;
  }
  function escapeText(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function say(text, bad) {
    statusLine.textContent = text;
    statusLine.className = bad ? "bad" : "";
  }
  function problem(body, status) {
    return (body && (body.error || body.message)) || ("the server answered " + status);
  }
  lesson.addEventListener("change", function () { custom.disabled = lesson.value !== ""; });

  function plan() {
    var body = { fast: document.getElementById("fast").checked };
    if (lesson.value) { body.lesson = lesson.value; return body; }
    body.strategies = document.getElementById("strategies").value;
    Array.prototype.forEach.call(custom.querySelectorAll("input[name]"), function (input) {
      if (input.name === "strategies") { return; }
      if (input.type === "checkbox") { body[input.name] = input.checked; }
      else if (input.type === "number") { body[input.name] = input.value === "" ? null : Number(input.value); }
      else { body[input.name] = input.value; }
    });
    return body;
  }

  function runFor(label) {
    if (!state.runs[label]) {
      var article = document.createElement("article");
      article.className = "run";
      article.setAttribute("data-label", label);
      article.innerHTML = "<h3>" + escapeText(label) + "</h3><p class=\"progress\"></p>" +
        "<svg class=\"timeline\" role=\"img\" aria-label=\"timeline of " + escapeText(label) + "\"></svg>";
      live.appendChild(article);
      state.runs[label] = { article: article, jobs: {}, order: [], t0: null, t1: 0, dirty: true };
      state.order.push(label);
    }
    return state.runs[label];
  }

  function heard(event) {
    var run = runFor(event[0]);
    var job = run.jobs[event[1]];
    if (!job) { job = run.jobs[event[1]] = { id: event[1], events: [] }; run.order.push(job); }
    job.events.push([event[2], event[3]]);
    if (run.t0 === null || event[3] < run.t0) { run.t0 = event[3]; }
    run.t1 = Math.max(run.t1, event[3]);
    run.dirty = true;
  }

  function draw(run) {
    var span = Math.max(run.t1 - run.t0, 1);
    var x = function (ms) { return (LABEL_W + PLOT_W * (ms - run.t0) / span).toFixed(1); };
    var lanes = run.order.slice(0, MAX_LANES);
    var parts = [];
    lanes.forEach(function (job, index) {
      var y = index * (LANE_H + GAP);
      var events = job.events.slice().sort(function (a, b) { return a[1] - b[1]; });
      var last = events[events.length - 1];
      parts.push("<g class=\"lane\" tabindex=\"0\" data-job=\"" + escapeText(job.id) + "\" transform=\"translate(0," + y + ")\"" +
        " data-tip=\"job " + escapeText(job.id) + " · " + (last[0] === "ended" ? "ended" : escapeText(last[0])) + "\">");
      parts.push("<text x=\"" + (LABEL_W - 6) + "\" y=\"" + (LANE_H - 2) + "\" class=\"lane-label\" text-anchor=\"end\">" +
        escapeText(job.id.slice(-8)) + "</text>");
      events.forEach(function (event, i) {
        if (event[0] === "ended") { return; }
        var until = i + 1 < events.length ? events[i + 1][1] : run.t1;
        var width = Math.max(Number(x(until)) - Number(x(event[1])), 0.8).toFixed(1);
        parts.push("<rect x=\"" + x(event[1]) + "\" width=\"" + width + "\" height=\"" + LANE_H +
          "\" class=\"p-" + escapeText(event[0]) + "\" data-tip=\"job " + escapeText(job.id) + " · " +
          escapeText(event[0]) + " " + event[1].toFixed(0) + " ms\"/>");
      });
      parts.push("</g>");
    });
    var height = Math.max(lanes.length, 1) * (LANE_H + GAP) + 6;
    var svg = run.article.querySelector("svg.timeline");
    svg.setAttribute("viewBox", "0 0 1090 " + height);
    svg.innerHTML = parts.join("");
    var more = run.order.length - lanes.length;
    run.article.querySelector(".progress").textContent = run.order.length + " jobs over " +
      span.toFixed(0) + " ms" + (more > 0 ? " (the first " + MAX_LANES + " drawn; the report groups them all)" : "") +
      (run.answered ? "; " + run.answered[0] + " of " + run.answered[1] + " requests answered" : "");
    run.dirty = false;
  }

  function poll() {
    fetch("/lab/api/race?since=" + state.next, { headers: headers(false) })
      .then(function (response) {
        return response.json().then(function (body) { return { response: response, body: body }; });
      })
      .then(function (answer) {
        if (!answer.response.ok) { finish(); say(problem(answer.body, answer.response.status), true); return; }
        var body = answer.body;
        body.events.forEach(heard);
        state.next = body.next;
        Object.keys(body.answered).forEach(function (label) { runFor(label).answered = body.answered[label]; runFor(label).dirty = true; });
        state.order.forEach(function (label) { if (state.runs[label].dirty) { draw(state.runs[label]); } });
        state.raceState = body.state;
        if (body.state === "running") {
          say("racing… " + state.order.length + " run(s) so far");
          state.polling = setTimeout(poll, POLL_MS);
          return;
        }
        finish();
        downloadButton.disabled = !body.report;
        if (body.state === "failed") { say("the race failed: " + body.error, true); return; }
        var correct = body.runs.filter(function (run) { return run.correct; }).length;
        say((body.state === "stopped" ? "stopped: " : "done: ") + correct + " of " + body.runs.length + " runs correct");
        if (body.check) {
          checkBox.hidden = false;
          checkBox.className = "check " + (body.check.passed ? "passed" : "failed");
          checkBox.textContent = "Check " + (body.check.passed ? "PASSED" : "FAILED") + ": " + body.check.message;
        }
      })
      .catch(function (failure) { finish(); say("lost the server: " + failure, true); });
  }

  function finish() {
    if (state.polling) { clearTimeout(state.polling); state.polling = null; }
    runButton.disabled = false;
    stopButton.disabled = true;
  }

  runButton.addEventListener("click", function () {
    runButton.disabled = true;
    fetch("/lab/api/race", { method: "POST", headers: headers(true), body: JSON.stringify(plan()) })
      .then(function (response) {
        return response.json().then(function (body) { return { response: response, body: body }; });
      })
      .then(function (answer) {
        if (answer.response.status !== 202) {
          runButton.disabled = false;
          say(problem(answer.body, answer.response.status), true);
          return;
        }
        live.innerHTML = "";
        state = { next: 0, runs: {}, order: [], polling: null, raceState: "running" };
        checkBox.hidden = true;
        downloadButton.disabled = true;
        stopButton.disabled = false;
        commandBox.hidden = false;
        commandBox.textContent = "$ " + answer.body.command;
        say("racing…");
        poll();
      })
      .catch(function (failure) { runButton.disabled = false; say("lost the server: " + failure, true); });
  });

  stopButton.addEventListener("click", function () {
    fetch("/lab/api/race", { method: "DELETE", headers: headers(false) });
    say("stopping… (jobs already running finish first)");
  });

  downloadButton.addEventListener("click", function () {
    downloadFrom("/lab/api/race/report", headers(false), "moviemind-lab.html")
      .catch(function (failure) { say("no report: " + failure, true); });
  });

  // A page closed mid-race stops its race (the server also stops a race nobody asks about).
  window.addEventListener("pagehide", function () {
    if (state.raceState === "running") {
      fetch("/lab/api/race", { method: "DELETE", headers: headers(false), keepalive: true });
    }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();
