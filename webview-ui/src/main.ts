// The dashboard webview arrives with the dashboard issue; until then it only says so.
const root = document.getElementById("root");
if (root) root.textContent = "MLX Model Manager";
