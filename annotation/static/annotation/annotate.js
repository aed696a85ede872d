/* The annotation and review pages: synchronized players, blur, keyboard shortcuts, checks
 * before submit, time spent, dialogs and break reminders. Plain JavaScript, no build step.
 *
 * The server renders everything (annotation/judgement_form.py holds the questions and their
 * keys); this file only reads data-* attributes. htmx swaps #workspace after a submit or skip,
 * and htmx.onLoad calls init() again for the new content. Video elements may survive a swap
 * (hx-preserve moves the preloaded next-pair videos into place), so per-element listeners are
 * bound once and read the module state, never a closure over old controls.
 */
(function () {
  "use strict";

  var BREAK_KEY = "safesora.workStartedAt";
  var LONG_AWAY_MS = 10 * 60 * 1000; // a tab hidden this long counts as a break

  var state = {
    assignment: null,   // id of the pair on screen; a new one restarts the timer
    activeMs: 0,        // time spent on this pair while the tab was visible
    visibleSince: null,
    hiddenAt: null,
    revealed: new Set(), // video ids the worker chose to unblur
    submitting: false,
    triedSubmit: false, // after a first failed check, errors update as answers change
    loop: true,
    rate: 1,
    syncing: false      // both videos were started together
  };
  var bound = new WeakSet();

  function workspace() { return document.getElementById("workspace"); }
  function pairVideos() {
    var ws = workspace();
    return ws ? Array.prototype.slice.call(ws.querySelectorAll("[data-players] video[data-video]")) : [];
  }
  function $(selector, root) { return (root || document).querySelector(selector); }
  function messages() {
    var node = document.getElementById("judgement-messages");
    return node ? JSON.parse(node.textContent) : {};
  }

  /* ---- time spent ------------------------------------------------------------------------ */

  function restartTimer() {
    state.activeMs = 0;
    state.visibleSince = document.hidden ? null : performance.now();
  }
  function elapsedMs() {
    var running = state.visibleSince === null ? 0 : performance.now() - state.visibleSince;
    return Math.round(state.activeMs + running);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (state.visibleSince !== null) state.activeMs += performance.now() - state.visibleSince;
      state.visibleSince = null;
      state.hiddenAt = Date.now();
    } else {
      state.visibleSince = performance.now();
      if (state.hiddenAt && Date.now() - state.hiddenAt > LONG_AWAY_MS) resetBreak();
      state.hiddenAt = null;
    }
  });

  /* ---- synchronized players ------------------------------------------------------------- */

  function anyPlaying() { return pairVideos().some(function (v) { return !v.paused && !v.ended; }); }

  function playBoth() {
    var vids = pairVideos();
    if (!vids.length) return;
    // Start together: the later one waits for the earlier one's position.
    var t = Math.min.apply(null, vids.map(function (v) { return v.currentTime; }));
    vids.forEach(function (v) {
      if (Math.abs(v.currentTime - t) > 0.05) v.currentTime = t;
      var p = v.play();
      if (p && p.catch) p.catch(function () { /* reported through the error event */ });
    });
    state.syncing = true;
    updateControls();
  }
  function pauseBoth() {
    pairVideos().forEach(function (v) { v.pause(); });
    state.syncing = false;
    updateControls();
  }
  function togglePlay() { if (anyPlaying()) pauseBoth(); else playBoth(); }
  function seekBoth(t) {
    pairVideos().forEach(function (v) {
      var end = isFinite(v.duration) ? v.duration : t;
      v.currentTime = Math.max(0, Math.min(t, end));
    });
    updateControls();
  }
  function seekBy(dt) {
    var vids = pairVideos();
    if (vids.length) seekBoth(vids[0].currentTime + dt);
  }
  function setRate(rate) {
    state.rate = rate;
    pairVideos().forEach(function (v) { v.playbackRate = rate; v.defaultPlaybackRate = rate; });
    var select = $("[data-sync-speed]");
    if (select) select.value = String(rate);
  }
  function stepRate(direction) {
    var rates = [0.25, 0.5, 1, 1.5, 2];
    var i = rates.indexOf(state.rate);
    setRate(rates[Math.max(0, Math.min(rates.length - 1, (i < 0 ? 2 : i) + direction))]);
  }
  function setLoop(loop) {
    state.loop = loop;
    pairVideos().forEach(function (v) { v.loop = loop; });
    var box = $("[data-sync-loop]");
    if (box) box.checked = loop;
  }

  function updateControls() {
    var vids = pairVideos();
    var seek = $("[data-sync-seek]"), time = $("[data-sync-time]"), play = $("[data-sync-play]");
    if (!vids.length || !seek) return;
    var longest = Math.max.apply(null, vids.map(function (v) { return isFinite(v.duration) ? v.duration : 0; }));
    if (longest > 0) seek.max = String(longest);
    var t = vids[0].currentTime;
    if (document.activeElement !== seek) seek.value = String(t);
    if (time) time.textContent = t.toFixed(1) + " s";
    if (play) {
      var label = play.querySelector("[data-label]") || play.firstChild;
      play.setAttribute("aria-pressed", anyPlaying() ? "true" : "false");
      if (label && label.nodeType === 3) label.textContent = anyPlaying() ? play.dataset.pause + " " : play.dataset.play + " ";
    }
  }

  function keepInStep(event) {
    // While both play together, pull the right video back to the left one if they drift apart
    // (only inside both videos' length: with loop on, the shorter one restarts on its own).
    var vids = pairVideos();
    if (!state.syncing || vids.length !== 2 || event.target !== vids[0]) return;
    var a = vids[0], b = vids[1];
    if (a.paused || b.paused || !isFinite(b.duration)) return;
    if (a.currentTime < b.duration - 0.25 && Math.abs(a.currentTime - b.currentTime) > 0.2) b.currentTime = a.currentTime;
  }

  function showMediaError(video) {
    var figure = video.closest("[data-player]");
    if (!figure || $(".media-error", figure)) return;
    var note = document.createElement("p");
    note.className = "media-error field-error";
    note.textContent = (messages().media_error || "This video could not be played.") +
      " (" + (video.error ? video.error.code : "?") + ")";
    figure.appendChild(note);
    figure.setAttribute("data-media-error", "true");
  }

  function bindVideo(video) {
    if (bound.has(video)) return;
    bound.add(video);
    ["loadedmetadata", "timeupdate", "play", "pause", "ended", "seeked"].forEach(function (name) {
      video.addEventListener(name, updateControls);
    });
    video.addEventListener("timeupdate", keepInStep);
    video.addEventListener("play", function () {
      // Started alone (its own controls): the pair is no longer played in step.
      if (!pairVideos().every(function (v) { return !v.paused; })) state.syncing = false;
    });
    video.addEventListener("error", function () { showMediaError(video); });
    if (video.error) showMediaError(video);
  }

  function initPlayers(ws) {
    var play = $("[data-sync-play]", ws);
    if (play && !play.dataset.play) {
      play.dataset.play = play.firstChild.textContent.trim();
      play.dataset.pause = play.getAttribute("data-pause-label") || "Pause both";
    }
    pairVideos().forEach(function (v) {
      bindVideo(v);
      v.loop = state.loop;
      v.playbackRate = v.defaultPlaybackRate = state.rate;
      var figure = v.closest("[data-player]");
      if (figure && state.revealed.has(v.id)) figure.classList.remove("blurred");
    });
    setLoop(state.loop);
    setRate(state.rate);
    updateControls();
  }

  function reveal(figure) {
    figure.classList.remove("blurred");
    var video = $("video", figure);
    if (video) state.revealed.add(video.id);
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    if (!t) return;
    var r = t.closest("[data-reveal]");
    if (r) { reveal(r.closest("[data-player]")); return; }
    if (t.closest("[data-sync-play]")) { togglePlay(); return; }
    if (t.closest("[data-sync-restart]")) { seekBoth(0); return; }
    var opener = t.closest("[data-open]");
    if (opener) { openDialog(opener.getAttribute("data-open")); return; }
    var closer = t.closest("[data-close]");
    if (closer) {
      if (closer.hasAttribute("data-break-reset")) resetBreak();
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });
  document.addEventListener("input", function (e) {
    if (e.target.matches("[data-sync-seek]")) seekBoth(parseFloat(e.target.value) || 0);
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-sync-loop]")) setLoop(t.checked);
    else if (t.matches("[data-sync-speed]")) setRate(parseFloat(t.value) || 1);
    else if (t.form && t.form.matches("[data-judgement]")) answerChanged(t);
  });

  /* ---- dialogs and breaks --------------------------------------------------------------- */

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog || dialog.open) return;
    if (id === "skip-dialog" || id === "break-dialog") pauseBoth();
    dialog.showModal();
  }

  function resetBreak() { sessionStorage.setItem(BREAK_KEY, String(Date.now())); }
  function checkBreak() {
    var ws = workspace();
    var minutes = ws ? Number(ws.getAttribute("data-break-minutes")) : 0;
    if (!minutes) return false;
    var started = Number(sessionStorage.getItem(BREAK_KEY));
    if (!started) { resetBreak(); return false; }
    if (Date.now() - started < minutes * 60000) return false;
    openDialog("break-dialog");
    return true;
  }
  setInterval(checkBreak, 30000);

  /* ---- the answers: helpers, checks, errors --------------------------------------------- */

  var SIDES = ["video_0", "video_1"];

  function answerChanged(input) {
    var form = input.form;
    var match = /^(video_[01])_categories$/.exec(input.name);
    if (match && input.checked) {
      // Ticking a category on a video not yet judged: it is unsafe (the worker can still change it).
      var side = match[1];
      if (!form.querySelector("input[name=" + side + "_is_safe]:checked")) {
        form.querySelector("input[name=" + side + "_is_safe][value=false]").checked = true;
      }
    }
    updateConfirm(form);
    if (state.triedSubmit) showErrors(form, check(form));
  }

  function safeWithCategories(form) {
    var data = new FormData(form);
    return SIDES.some(function (side) {
      return data.get(side + "_is_safe") === "true" && data.getAll(side + "_categories").length > 0;
    });
  }
  function updateConfirm(form) {
    var box = $("[data-confirm]", form);
    if (box) box.hidden = !(safeWithCategories(form) || $("input", box).checked);
  }

  function check(form) {
    var text = messages(), data = new FormData(form), errors = [];
    form.querySelectorAll("fieldset.pairwise").forEach(function (fs) {
      var name = fs.getAttribute("data-field");
      if (!data.get(name)) errors.push([name, text.choose, fs.getAttribute("data-title")]);
    });
    SIDES.forEach(function (side) {
      var fs = form.querySelector("[data-video-safety=" + side + "]");
      var title = fs ? fs.getAttribute("data-title") : "";
      var safe = data.get(side + "_is_safe"), categories = data.getAll(side + "_categories");
      if (!safe) errors.push([side + "_is_safe", text.safety, title]);
      else if (safe === "false" && !categories.length) errors.push([side + "_categories", text.unsafe_needs_category, title]);
      else if (safe === "true" && categories.length && !data.get("confirm_safe_with_labels")) {
        errors.push([side + "_categories", text.safe_with_categories, title]);
      }
    });
    return errors;
  }

  // errors: [field name, message, title of the question (for the summary)]
  function showErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (p) { p.textContent = ""; });
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    var box = $("[data-form-errors]", form), list = box && $("ul", box);
    if (list) list.textContent = "";
    errors.forEach(function (error) {
      var slot = form.querySelector("[data-error-for=" + error[0] + "]");
      if (slot) slot.textContent = error[1];
      var field = form.querySelector("[data-field=" + error[0] + "]");
      if (field) (field.closest("fieldset") || field).classList.add("invalid");
      if (list) {
        var li = document.createElement("li");
        li.setAttribute("data-field-error", error[0]);
        li.textContent = error[2] ? error[2] + ": " + error[1] : error[1];
        list.appendChild(li);
      }
    });
    if (box) box.hidden = errors.length === 0;
    if (errors.length) {
      var first = form.querySelector(".invalid");
      if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  // Capture phase: runs before htmx's own submit handler on the form, so a form that fails the
  // checks is never sent (the server checks again with the same rules).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("[data-judgement]")) return;
    var errors = check(form);
    if (errors.length || state.submitting) {
      e.preventDefault();
      e.stopImmediatePropagation();
      if (errors.length) { state.triedSubmit = true; showErrors(form, errors); }
      return;
    }
    var spent = $("[data-time-spent]", form);
    if (spent) spent.value = String(elapsedMs());
    state.submitting = true;
  }, true);

  document.addEventListener("htmx:afterRequest", function () { state.submitting = false; });
  document.addEventListener("htmx:sendError", function () {
    state.submitting = false;
    var form = $("[data-judgement]");
    if (form) showErrors(form, [["answers", messages().offline]]);
  });

  /* ---- keyboard ------------------------------------------------------------------------- */

  var TYPING = "textarea, select, input[type=text], input[type=number], input[type=search], input:not([type])";

  function pageKey(combo) {
    switch (combo) {
      case "Space": togglePlay(); return true;
      case "ArrowLeft": seekBy(-1); return true;
      case "ArrowRight": seekBy(1); return true;
      case "Comma": stepRate(-1); return true;
      case "Period": stepRate(1); return true;
      case "KeyV": setLoop(!state.loop); return true;
      case "KeyB": document.querySelectorAll("[data-player].blurred").forEach(reveal); return true;
      case "KeyX": if (document.getElementById("skip-dialog")) { openDialog("skip-dialog"); return true; } return false;
      case "KeyG": openDialog("guidelines"); return true;
      case "Shift+Slash": openDialog("shortcuts"); return true;
    }
    return false;
  }

  function answerKey(combo) {
    var form = $("[data-judgement]");
    if (!form) return false;
    if (combo === "Enter") { form.requestSubmit(); return true; }
    var input = form.querySelector("[data-hotkey='" + combo + "']");
    if (!input) return false;
    if (input.type === "radio") input.checked = true;
    else if (input.type === "checkbox") input.checked = !input.checked;
    else { input.click(); return true; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (!workspace()) return;
    var combo = (e.shiftKey ? "Shift+" : "") + e.code;
    var open = document.querySelector("dialog[open]");
    if (open) {
      // A dialog has the keyboard (Escape closes it); its own key closes it too.
      var own = { guidelines: "KeyG", shortcuts: "Shift+Slash" }[open.id];
      if (own === combo && !(e.target.matches && e.target.matches(TYPING))) { open.close(); e.preventDefault(); }
      return;
    }
    if (e.target.matches && e.target.matches(TYPING)) return;
    if (e.target.matches && e.target.matches("input[type=range]") && /^Arrow/.test(combo)) return;
    // Enter on a focused button or link does what that button says.
    if (combo === "Enter" && e.target.closest && e.target.closest("button, a, summary")) return;
    if (pageKey(combo) || answerKey(combo)) e.preventDefault();
  });

  /* ---- start ---------------------------------------------------------------------------- */

  function init() {
    var ws = workspace();
    if (!ws) return;
    var assignment = ws.getAttribute("data-assignment");
    if (assignment !== state.assignment) {
      // A new pair (not the same pair shown again with errors): fresh timer, blur and checks.
      state.assignment = assignment;
      state.revealed.clear();
      state.triedSubmit = false;
      state.syncing = false;
      restartTimer();
      window.scrollTo(0, 0);
    }
    state.submitting = false;
    initPlayers(ws);
    var form = $("[data-judgement]", ws);
    if (form) updateConfirm(form);
    checkBreak();
  }

  if (window.htmx) window.htmx.onLoad(function () { init(); });
  else document.addEventListener("DOMContentLoaded", init);

  // For tests and the curious: what the page measures.
  window.SafeSoraAnnotate = { elapsedMs: elapsedMs, checkBreak: checkBreak, playBoth: playBoth, pauseBoth: pauseBoth,
                              seekBoth: seekBoth };
})();
