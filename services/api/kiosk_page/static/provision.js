// Redeems the one-time token (from the URL fragment, or ?token= for older links) with a POST, stores the
// device's fresh kiosk key in localStorage, removes the token from the address bar and opens /kiosk.
"use strict";

async function provision() {
  const status = document.querySelector("[data-testid=provision-status]");
  const detail = document.querySelector("[data-testid=provision-detail]");
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const token = fromHash || new URLSearchParams(location.search).get("token");
  history.replaceState(null, "", location.pathname);
  if (!token) {
    status.textContent = "链接不完整";
    detail.textContent = "请重新运行 bashu admin kiosk-link 获取开通链接。";
    return;
  }
  let response;
  try {
    response = await fetch("/kiosk/provision", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token }),
      cache: "no-store",
    });
  } catch (_) {
    status.textContent = "网络不通";
    detail.textContent = "请检查网络后重新打开开通链接（链接仍然有效）。";
    return;
  }
  if (response.status !== 201) {
    status.textContent = "开通失败";
    detail.textContent = "链接无效、已使用或已过期。请重新运行 bashu admin kiosk-link 获取新的链接。";
    return;
  }
  const data = await response.json();
  localStorage.setItem("bashu.kiosk.key", data.api_key);
  localStorage.removeItem("bashu.kiosk.start");
  status.textContent = `已开通：${data.org_name}`;
  detail.textContent = "正在打开求职页面……";
  location.replace("/kiosk");
}

document.addEventListener("DOMContentLoaded", () => { provision(); });
