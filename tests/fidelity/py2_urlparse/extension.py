import urlparse

query = urlparse.parse_qs(urlparse.urlparse(document.uri).query)
document.add_meta_data({'productid': query.get('id', [''])[0]})
