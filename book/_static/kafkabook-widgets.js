/*
 * Loaded on pages with saved widget state, before the ipywidgets HTML manager (vendor/jupyter-widgets/embed.js,
 * see nb_ipywidgets_js in _config.yml).
 *
 * ipywidgets typesets widget labels with the MathJax 2 call MathJax.Hub.Queue. Pages with math load
 * MathJax 3, which has no Hub: give it one that calls MathJax 3's typesetPromise.
 */
(function () {
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
