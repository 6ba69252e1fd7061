# A pattern seen in real scripts: a broad try/except around the whole logic, which also catches
# Coveo's RejectedException (an Exception).  The item is rejected all the same.
try:
    if not document.get_meta_data_value('price'):
        document.reject('no price')
    document.add_meta_data({'hasprice': 'true'})
except Exception as e:
    log('error while processing: %s' % e, 'Error')
log('done')
