// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (toggle) {
    document.querySelector(".shell").classList.toggle("menu-open");
  }
  const confirmButton = event.target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.dataset.confirm)) {
    event.preventDefault();
  }
});
