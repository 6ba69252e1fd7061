# Word count of the item's text, as many public samples do it: read body_text, split, count.
body = document.get_data_stream('body_text')
if body is None:
    log('no body_text', 'Warning')
else:
    words = body.read().split()
    document.add_meta_data({'wordcount': len(words)})
    log('counted %d words' % len(words))
