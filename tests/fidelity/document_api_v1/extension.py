api = document_api.v1
title = api.get_meta_data_value('title')[0]
api.add_meta_data({'titleupper': title.upper()})
document_api.legacy.log(api.uri, 'legacy log call', 'Debug')
document_api.legacy.add_meta_data(None, {'fromlegacy': 'yes'})
if document_api.latest is not document_api.v1:
    document_api.v1.reject('latest should be v1')
