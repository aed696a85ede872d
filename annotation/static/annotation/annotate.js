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
  /* Played together, the longest clip is the clock: the seek bar spans it, a shorter clip holds
   * its last frame once it ends, and with Loop on both restart together when the longest ends.
   * The elements' own `loop` stays off (a shorter clip looping on its own drifts from the other);
   * this file restarts them, together or, played alone, one by one. */

  function duration(v) { return isFinite(v.duration) ? v.duration : 0; }
  function master() {
    var vids = pairVideos();
    return vids.reduce(function (a, b) { return duration(b) > duration(a) ? b : a; }, vids[0]);
  }
  function anyPlaying() { return pairVideos().some(function (v) { return !v.paused && !v.ended; }); }

  var ownPlays = new WeakMap(); // play() calls made here, so the "play" event can tell them from a solo start
  function startVideo(v) {
    if (!v.paused) return;
    ownPlays.set(v, (ownPlays.get(v) || 0) + 1);
    var p = v.play();
    if (p && p.catch) p.catch(function () { /* reported through the error event */ });
  }

  function playBoth() {
    var vids = pairVideos();
    if (!vids.length) return;
    var clock = master();
    var t = clock.ended || clock.currentTime >= duration(clock) - 0.05 ? 0 : clock.currentTime;
    state.syncing = true;
    vids.forEach(function (v) {
      var end = duration(v);
      var at = end ? Math.min(t, end) : t;
      if (Math.abs(v.currentTime - at) > 0.05) v.currentTime = at;
      if (!end || t < end - 0.05) startVideo(v); // a shorter clip past its end holds its last frame
    });
    updateControls();
  }
  function pauseBoth() {
    state.syncing = false;
    pairVideos().forEach(function (v) { v.pause(); });
    updateControls();
  }
  function togglePlay() { if (anyPlaying()) pauseBoth(); else playBoth(); }
  function seekBoth(t) {
    pairVideos().forEach(function (v) {
      var end = isFinite(v.duration) ? v.duration : t;
      v.currentTime = Math.max(0, Math.min(t, end));
    });
    // A clip sought back inside its length plays on with the other.
    if (state.syncing) pairVideos().forEach(function (v) { if (t < duration(v) - 0.05) startVideo(v); });
    updateControls();
  }
  function seekBy(dt) {
    var vids = pairVideos();
    if (vids.length) seekBoth(master().currentTime + dt);
  }
  function restartTogether() {
    // Both to 0, then play once both have their first frame: they start in step.
    var vids = pairVideos(), waiting = vids.length;
    vids.forEach(function (v) {
      v.pause();
      var go = function () { if (--waiting === 0 && state.syncing) vids.forEach(startVideo); };
      if (v.currentTime === 0 && v.readyState >= 2) { go(); return; }
      v.addEventListener("seeked", go, { once: true });
      v.currentTime = 0;
    });
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
    pairVideos().forEach(function (v) { v.loop = false; });
    var box = $("[data-sync-loop]");
    if (box) box.checked = loop;
  }

  function updateControls() {
    var vids = pairVideos();
    var seek = $("[data-sync-seek]"), time = $("[data-sync-time]"), play = $("[data-sync-play]");
    if (!vids.length || !seek) return;
    var clock = master(), longest = duration(clock);
    if (longest > 0) seek.max = String(longest);
    var t = clock.currentTime;
    if (document.activeElement !== seek) seek.value = String(t);
    if (time) time.textContent = t.toFixed(1) + " s";
    if (play) {
      var label = play.querySelector("[data-label]") || play.firstChild;
      play.setAttribute("aria-pressed", anyPlaying() ? "true" : "false");
      if (label && label.nodeType === 3) label.textContent = anyPlaying() ? play.dataset.pause + " " : play.dataset.play + " ";
    }
  }

  function keepInStep() {
    // While both play together, pull a clip back to the clock (the longest) when they drift
    // apart, inside the shorter clip's length only (past it, the shorter one holds its last frame).
    var vids = pairVideos();
    if (!state.syncing || vids.length !== 2) return;
    var clock = master();
    if (clock.paused || clock.seeking) return;
    vids.forEach(function (v) {
      if (v === clock || v.seeking || v.paused || !duration(v)) return;
      if (clock.currentTime < duration(v) - 0.25 && Math.abs(clock.currentTime - v.currentTime) > 0.08) {
        v.currentTime = clock.currentTime;
      }
    });
  }
  setInterval(keepInStep, 100);

  function clipEnded(video) {
    if (state.syncing) {
      if (video !== master()) return; // the shorter clip holds its last frame
      if (state.loop) restartTogether();
      else { state.syncing = false; updateControls(); }
    } else if (state.loop) {
      video.currentTime = 0;
      startVideo(video);
    }
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
    video.addEventListener("ended", function () { clipEnded(video); });
    video.addEventListener("play", function () {
      var own = ownPlays.get(video) || 0;
      if (own) { ownPlays.set(video, own - 1); return; }
      // Started alone (its own controls): the pair is no longer played in step.
      state.syncing = false;
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
      v.loop = false;
      v.playbackRate = v.defaultPlaybackRate = state.rate;
      var figure = v.closest("[data-player]");
      if (figure && state.revealed.has(v.id)) figure.classList.remove("blurred");
    });
    setLoop(state.loop);
    setRate(state.rate);
    updateControls();
  }

  // The viewer (players + controls) sticks to the top: focus and scrolling keep what they move
  // to below it (scroll-padding-top), so the question being answered is never hidden under it.
  var viewerSize = window.ResizeObserver ? new ResizeObserver(function (entries) {
    var h = entries[0].target.isConnected ? entries[0].target.getBoundingClientRect().height : 0;
    document.documentElement.style.scrollPaddingTop = Math.ceil(h + 8) + "px";
  }) : null;
  function watchViewer(ws) {
    var viewer = $("[data-viewer]", ws);
    if (!viewerSize || !viewer) return;
    viewerSize.disconnect();
    viewerSize.observe(viewer);
  }

  // The question being answered is shown whole below the viewer: on focus (Tab, a summary link)
  // and when a key answers it.
  var QUESTION = "fieldset.pairwise, .safe-choice, .categories li, .confirm";
  function showQuestion(input) {
    var block = input.closest(QUESTION);
    if (block) block.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("focusin", function (e) {
    if (e.target.closest && e.target.closest("[data-judgement]")) showQuestion(e.target);
  });

  function reveal(figure) {
    figure.classList.remove("blurred");
    var video = $("video", figure);
    if (video) state.revealed.add(video.id);
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    if (!t) return;
    if (t.closest("[data-goto-questions]")) {
      e.preventDefault();
      var firstInput = $("[data-judgement] fieldset input");
      if (firstInput) firstInput.focus();
      return;
    }
    var go = t.closest("[data-goto-field]");
    if (go) { e.preventDefault(); gotoField(go.getAttribute("data-goto-field")); return; }
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
    else if (t.matches("[data-shortcuts-setting]")) shortcutsSetting(t);
    else if (t.matches("[data-sync-speed]")) setRate(parseFloat(t.value) || 1);
    else if (t.form && t.form.matches("[data-judgement]")) answerChanged(t);
  });

  /* ---- dialogs and breaks --------------------------------------------------------------- */

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog || dialog.open) return;
    if (id === "skip-dialog" || id === "break-dialog") pauseBoth();
    dialog.showModal();
    // Long dialogs (the guidelines) open at their title, not at a button at the bottom.
    var title = dialog.querySelector("[data-dialog-title]");
    if (title) { title.focus(); dialog.scrollTop = 0; }
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
    markInvalid(form);
    if (errors.length) {
      // A "Saved" banner from the previous pair is old news once this pair has errors.
      var notice = $("[data-notice]");
      if (notice) notice.remove();
      if (box) { box.focus({ preventScroll: true }); box.scrollIntoView({ block: "nearest" }); }
      var first = form.querySelector(".invalid");
      if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  // Screen readers: each field with an error is aria-invalid and described by its message, and
  // each line of the summary links to its field. Works on the server's errors (a 422) too.
  function markInvalid(form) {
    var summary = $("[data-form-errors]", form);
    if (summary) summary.tabIndex = -1;
    form.querySelectorAll("[data-field]").forEach(function (field) {
      var name = field.getAttribute("data-field");
      if (!field.id) field.id = "field-" + name;
      var slot = form.querySelector("[data-error-for=" + name + "]");
      if (slot && !slot.id) slot.id = "error-" + name;
      var bad = !!(slot && slot.textContent.trim());
      field.querySelectorAll("input").forEach(function (input) {
        if (bad) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", slot.id);
        } else {
          input.removeAttribute("aria-invalid");
          input.removeAttribute("aria-describedby");
        }
      });
    });
    form.querySelectorAll("[data-form-errors] li[data-field-error]").forEach(function (li) {
      var name = li.getAttribute("data-field-error");
      if ($("a", li) || !form.querySelector("[data-field=" + name + "]")) return;
      var a = document.createElement("a");
      a.href = "#field-" + name;
      a.setAttribute("data-goto-field", name);
      a.textContent = li.textContent;
      li.textContent = "";
      li.appendChild(a);
    });
  }
  function gotoField(name) {
    var field = document.querySelector("[data-field=" + name + "]");
    if (!field) return;
    var input = field.querySelector("input:checked") || field.querySelector("input");
    field.scrollIntoView({ block: "center" });
    if (input) input.focus({ preventScroll: true });
  }

  // Capture phase: runs before htmx's own submit handler on the form, so a form that fails the
  // checks is never sent (the server checks again with the same rules).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches && form.matches("[data-skip-form]")) { checkSkip(e, form); return; }
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

  function checkSkip(e, form) {
    var reason = form.querySelector("input[name=reason]:checked");
    var details = form.querySelector("input[name=details]");
    var error = $("[data-skip-error]", form);
    var text = { skip_reason: form.getAttribute("data-msg-reason"), skip_details: form.getAttribute("data-msg-details") };
    var problem = !reason ? text.skip_reason : (reason.value === "other" && !details.value.trim() ? text.skip_details : "");
    if (error) error.textContent = problem;
    if (problem && problem === text.skip_details) details.setAttribute("aria-invalid", "true");
    else details.removeAttribute("aria-invalid");
    if (!problem) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    (reason ? details : form.querySelector("input[name=reason]")).focus();
  }

  document.addEventListener("htmx:afterRequest", function () { state.submitting = false; });
  document.addEventListener("htmx:sendError", function () {
    state.submitting = false;
    var form = $("[data-judgement]");
    if (form) showErrors(form, [["answers", messages().offline]]);
  });

  /* ---- keyboard ------------------------------------------------------------------------- */
  /* The focused control keeps its own keys (WCAG 2.1.4): Space, Enter and the arrows act on a
   * focused radio, checkbox, button, link or select as the browser does; the page's shortcuts
   * for them act when focus is on the page or a player. Letter and number shortcuts act unless
   * the worker is typing, and the worker can turn every single-key shortcut off (kept per user
   * on the server, data-shortcuts on the workspace). */

  var TYPING = "textarea, select, input[type=text], input[type=number], input[type=search], input:not([type])";
  var CONTROL = "input, select, textarea, button, a[href], summary, [contenteditable], [role=button], [role=link]";
  var CONTROL_KEYS = { Space: 1, Enter: 1, ArrowLeft: 1, ArrowRight: 1, ArrowUp: 1, ArrowDown: 1, Home: 1, End: 1,
                       PageUp: 1, PageDown: 1 };

  function shortcutsOn() {
    var ws = workspace();
    return !ws || ws.getAttribute("data-shortcuts") !== "off";
  }
  function shortcutsSetting(box) {
    var ws = workspace();
    if (ws) ws.setAttribute("data-shortcuts", box.checked ? "on" : "off");
  }

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
    showQuestion(input);
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (!workspace()) return;
    var combo = (e.shiftKey ? "Shift+" : "") + e.code;
    var target = e.target && e.target.closest ? e.target : document.body;
    var open = document.querySelector("dialog[open]");
    if (open) {
      // A dialog has the keyboard (Escape closes it); its own key closes it too.
      var own = { guidelines: "KeyG", shortcuts: "Shift+Slash" }[open.id];
      if (shortcutsOn() && own === combo && !target.matches(TYPING)) { open.close(); e.preventDefault(); }
      return;
    }
    if (target.matches(TYPING)) return;
    var control = target.closest(CONTROL);
    if (control && CONTROL_KEYS[e.code]) {
      // Enter in a radio or checkbox would submit the form (implicit submission): Enter submits
      // only from the submit button or from the page.
      if (e.code === "Enter" && control.matches("input")) e.preventDefault();
      return;
    }
    if (!shortcutsOn()) return;
    if (pageKey(combo) || answerKey(combo)) { e.preventDefault(); handledKey = e.code; }
  });
  // A focused player's own (native) buttons act on keyup: when the page took the key, they don't.
  var handledKey = null;
  document.addEventListener("keyup", function (e) {
    if (handledKey === e.code) { e.preventDefault(); handledKey = null; }
  });

  /* ---- start ---------------------------------------------------------------------------- */

  // Said to screen readers (the live region sits outside the swapped workspace, so it stays).
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  var firstLoad = true;
  function init() {
    var ws = workspace();
    if (!ws) return;
    var assignment = ws.getAttribute("data-assignment");
    var swapped = !firstLoad;
    firstLoad = false;
    if (assignment !== state.assignment) {
      // A new pair (not the same pair shown again with errors): fresh timer, blur and checks.
      state.assignment = assignment;
      state.revealed.clear();
      state.triedSubmit = false;
      state.syncing = false;
      restartTimer();
      window.scrollTo(0, 0);
      if (swapped) {
        // After a submit or skip, work resumes at the prompt (or the refusal / "all done" card).
        var start = $("[data-focus-start]", ws);
        if (start) start.focus({ preventScroll: true });
        announce(ws.getAttribute("data-announce"));
      }
    }
    state.submitting = false;
    initPlayers(ws);
    watchViewer(ws);
    var form = $("[data-judgement]", ws);
    if (form) { updateConfirm(form); markInvalid(form); }
    if (swapped && form && !$("[data-form-errors]", form).hidden) {
      $("[data-form-errors]", form).focus({ preventScroll: true });
    }
    checkBreak();
  }

  if (window.htmx) window.htmx.onLoad(function () { init(); });
  else document.addEventListener("DOMContentLoaded", init);

  // For tests and the curious: what the page measures.
  window.SafeSoraAnnotate = { elapsedMs: elapsedMs, checkBreak: checkBreak, playBoth: playBoth, pauseBoth: pauseBoth,
                              seekBoth: seekBoth };
})();
