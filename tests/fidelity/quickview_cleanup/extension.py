# Quickview clean-up, in the style of Coveo's public samples: body_html is read as text and
# rewritten with regular expressions.
import re


def substitute(pattern, replacement, text):
    return re.sub(pattern, replacement, text, flags=re.IGNORECASE)


html = document.get_data_stream('body_html').read()
html = substitute(r'\s*display\s*:\s*none\s*!important\s*;?', '', html)
html = substitute(r'\s+id="viewer"', ' id="viewer" style="height:auto"', html)

quickview = document.DataStream('body_html')
quickview.write(html)
document.add_data_stream(quickview)
