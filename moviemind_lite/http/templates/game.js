// The step game: start a game, play the moves the server lists, see the damage counted as it happens.
(function () {
  "use strict";
  var HARMFUL = ["duplicate_movies", "duplicate_descriptions", "failed_jobs"];
  var startButton = document.getElementById("game-start");
  var runButton = document.getElementById("game-run");
  var saveButton = document.getElementById("game-save");
  var statusLine = document.getElementById("game-status");
  var jobsList = document.getElementById("game-jobs");
  var movesBox = document.getElementById("game-moves");
  var damageTable = document.getElementById("game-damage");
  var playedLine = document.getElementById("game-played");
  var scheduleBox = document.getElementById("game-schedule");
  var busy = false;
  var going = false;  // a game started here and not over: closing the page stops it

  function headers() {
    var out = { "Content-Type": "application/json" };
    var token = document.getElementById("token").value;
    if (token) { out["X-Admin-Token"] = token; }
    return out;
  }
  function say(text, bad) {
    statusLine.textContent = text;
    statusLine.className = bad ? "bad" : "";
  }
  function ask(method, path, body) {
    busy = true;
    return fetch(path, { method: method, headers: headers(), body: body ? JSON.stringify(body) : undefined })
      .then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, status: response.status, body: answer }; });
      })
      .finally(function () { busy = false; });
  }

  function show(standing) {
    jobsList.innerHTML = "";
    standing.jobs.forEach(function (job) {
      var item = document.createElement("li");
      item.setAttribute("data-job", job.name);
      item.textContent = job.name + ": " + job.where;
      jobsList.appendChild(item);
    });
    movesBox.innerHTML = "";
    standing.moves.forEach(function (move) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = move;
      button.setAttribute("data-step", move);
      button.addEventListener("click", function () { play(move); });
      movesBox.appendChild(button);
    });
    damageTable.hidden = false;
    Array.prototype.forEach.call(damageTable.querySelectorAll("td[data-key]"), function (cell) {
      var key = cell.getAttribute("data-key");
      var value = standing.damage[key] || 0;
      cell.textContent = String(value);
      cell.className = HARMFUL.indexOf(key) >= 0 && value > 0 ? "harm" : "";
    });
    playedLine.textContent = "played: " + (standing.played.length ? standing.played.join(", ") : "nothing yet");
    saveButton.disabled = standing.played.length === 0;
    runButton.disabled = standing.over;
    going = !standing.over;
    if (standing.verdict) {
      say("game over: " + standing.verdict + (standing.message ? " (" + standing.message + ")" : ""), !standing.correct);
      scheduleBox.hidden = false;
      scheduleBox.textContent = "$ " + standing.command;
    } else if (standing.error) {
      say(standing.error, true);
    } else if (standing.message) {
      say(standing.message, true);
    } else {
      scheduleBox.hidden = true;
      say("your move: " + standing.moves.length + " possible");
    }
  }

  function answered(answer) {
    if (!answer.ok) { say(answer.body.error || ("the server answered " + answer.status), true); return; }
    show(answer.body);
  }
  function lost(failure) { say("lost the server: " + failure, true); }

  function play(step) {
    if (busy) { return; }
    say("playing " + step + "…");
    ask("POST", "/lab/api/game/step", { step: step })
      .then(function (answer) {
        if (!answer.ok) {
          say(answer.body.error || ("the server answered " + answer.status), true);
          return;
        }
        show(answer.body);
      })
      .catch(lost);
  }

  startButton.addEventListener("click", function () {
    if (busy) { return; }
    say("starting a game…");
    scheduleBox.hidden = true;
    ask("POST", "/lab/api/game", {
      strategy: document.getElementById("game-strategy").value,
      requests: Number(document.getElementById("game-requests").value)
    }).then(answered).catch(lost);
  });
  runButton.addEventListener("click", function () {
    if (busy) { return; }
    say("every job runs freely to its end…");
    ask("POST", "/lab/api/game/run").then(answered).catch(lost);
  });
  saveButton.addEventListener("click", function () {
    downloadFrom("/lab/api/game/schedule", headers(), "played.json")
      .catch(function (failure) { say("no schedule: " + failure, true); });
  });
  // A page closed mid-game stops its game (the server also opens the gate of a game nobody plays).
  window.addEventListener("pagehide", function () {
    if (going) {
      fetch("/lab/api/game", { method: "DELETE", headers: headers(), keepalive: true });
    }
  });
})();
