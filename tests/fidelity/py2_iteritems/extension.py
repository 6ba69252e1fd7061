renames = {'title': 'producttitle', 'tags': 'producttags'}
for old, new in renames.iteritems():
    document.add_meta_data({new: document.get_meta_data_value(old)})
