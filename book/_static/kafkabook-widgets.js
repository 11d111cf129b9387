/*
 * Loaded on pages with saved widget state, after require.js and before the ipywidgets HTML manager
 * (see nb_ipywidgets_js in _config.yml).
 *
 * 1. The manager (embed-amd.js) and the modules bundled in it ("@jupyter-widgets/controls", ...) find
 *    their own files (Font Awesome for the widgets' icons) next to the URL require.js gives each module.
 *    Map those module names to _static/vendor/jupyter-widgets/, where the site ships them, whatever the
 *    page depth (unmapped, "@jupyter-widgets/controls" would resolve next to the page and 404).
 * 2. ipywidgets typesets widget labels with the MathJax 2 call MathJax.Hub.Queue. Pages with math
 *    load MathJax 3, which has no Hub: give it one that calls MathJax 3's typesetPromise.
 */
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (here && window.require && window.require.config) {
    var folder = new URL("vendor/jupyter-widgets", here).href;
    // the bundled modules (controls, base, output) locate their fonts from their own module URL too
    window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder, "@jupyter-widgets": folder } });
  }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && !mj.Hub && mj.typesetPromise) {
      mj.Hub = {
        Queue: function () {
          Array.prototype.forEach.call(arguments, function (call) {
            var element = Array.isArray(call) ? call[2] : null;
            if (element) mj.typesetPromise([element]).catch(function () {});
          });
        }
      };
    }
  });
})();
