namespace LoraLab.Notebooks.Reports;

/// <summary>
/// The few lines of script a report carries inline (nothing is loaded): the page's "show all code" toggle, and figures
/// fitted to the page. A figure keeps the width its notebook gave it where there is room; where there is not (a narrow
/// window, or a printed page, about 700 CSS px wide), it is drawn again at the width there is, same height. Chromium
/// tells a page that it is being laid out for print through matchMedia('print') (headless --print-to-pdf too), and
/// measures the page then, so a printed figure is redrawn to fit; it is fitted back to the screen afterwards.
/// </summary>
static class ReportScript
{
    public const string Js = """
        (function () {
          var button = document.getElementById('toggle-code');
          function sources() { return Array.prototype.slice.call(document.querySelectorAll('details.source')); }
          function label() {
            if (!button) return;
            var all = sources().every(function (d) { return d.open; });
            button.textContent = all ? 'hide all code' : 'show all code';
            button.setAttribute('aria-pressed', all ? 'true' : 'false');
          }
          if (button) button.addEventListener('click', function () {
            var open = button.getAttribute('aria-pressed') !== 'true';
            sources().forEach(function (d) { d.open = open; });
            label();
          });
          document.addEventListener('toggle', label, true);
          label();

          // Figures: never wider than the room there is (clientWidth rounds, and half a pixel too many cuts the edge).
          function contentWidth(element) {
            var style = getComputedStyle(element);
            return element.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
              - parseFloat(style.borderLeftWidth) - parseFloat(style.borderRightWidth);
          }
          function fit() {
            if (!window.Plotly) return;
            document.querySelectorAll('.loralab-figure').forEach(function (figure) {
              if (!figure.layout || !figure._fullLayout) return; // not drawn (yet)
              if (!figure.dataset.width) figure.dataset.width = figure.layout.width || figure._fullLayout.width;
              var room = figure.parentElement ? contentWidth(figure.parentElement) : 0;
              var width = Math.floor(Math.min(+figure.dataset.width, room > 0 ? room : +figure.dataset.width));
              if (Math.abs(figure._fullLayout.width - width) >= 1) Plotly.relayout(figure, { width: width });
            });
          }
          var pending;
          window.addEventListener('resize', function () { clearTimeout(pending); pending = setTimeout(fit, 150); });
          var print = window.matchMedia('print');
          if (print.addEventListener) print.addEventListener('change', fit); else print.addListener(fit);
          window.addEventListener('afterprint', fit);
          window.addEventListener('load', fit);
          fit();
        })();

        """;
}
