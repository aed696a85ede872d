// One click on "copy" copies a full id (safesora/admin_display.py short_id).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy-id");
  if (!button) return;
  event.preventDefault();
  navigator.clipboard?.writeText(button.dataset.copy).then(() => {
    button.textContent = "✓";
    setTimeout(() => { button.textContent = "copy"; }, 1200);
  });
});
