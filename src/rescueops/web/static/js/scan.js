// Scanning pages (item labels, member cards): focus the field a handheld scanner types into and, where the browser
// has a BarcodeDetector and a camera, offer to read the QR code with the camera. Typing always works.
// Used as <script src="/static/js/scan.js" data-input="ID" defer>; the page has #camera-button and #camera.
(function () {
  var input = document.getElementById(document.currentScript.dataset.input);
  if (!input) return;
  input.focus();
  input.select();  // after a refused scan the next one replaces what is there
  var button = document.getElementById("camera-button"), video = document.getElementById("camera");
  if (!button || !video || !("BarcodeDetector" in window) || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
  button.hidden = false;
  button.addEventListener("click", async function () {
    var detector, stream;
    try {
      detector = new BarcodeDetector({formats: ["qr_code"]});
      stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
    } catch (e) { button.hidden = true; return; }
    video.srcObject = stream; video.hidden = false; await video.play();
    var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
    var look = async function () {
      try {
        var found = await detector.detect(video);
        if (found.length) { stop(); input.value = found[0].rawValue; input.form.submit(); return; }
      } catch (e) { stop(); return; }
      requestAnimationFrame(look);
    };
    look();
  });
})();
