/*
 * Loaded on pages with saved widget state, after require.js and before the ipywidgets HTML manager
 * (see nb_ipywidgets_js in _config.yml).
 *
 * 1. The manager (embed-amd.js) finds its own files (Font Awesome for the widgets' icons) next to
 *    the URL require.js gives its module "@jupyter-widgets/html-manager/dist/libembed-amd". Map that
 *    module folder to _static/vendor/jupyter-widgets/, where the site ships them, whatever the page depth.
 * 2. ipywidgets typesets widget labels with the MathJax 2 call MathJax.Hub.Queue. Pages with math
 *    load MathJax 3, which has no Hub: give it one that calls MathJax 3's typesetPromise.
 */
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (here && window.require && window.require.config) {
    var folder = new URL("vendor/jupyter-widgets", here).href;
    window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder } });
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
