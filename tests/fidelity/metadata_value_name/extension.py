for meta in document.get_meta_data():
    values = document.get_meta_data_value(meta)
    log('%s: %s' % (meta.origin, values))
