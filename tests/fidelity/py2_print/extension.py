title = document.get_meta_data_value('title')[0]
print "title is", title
document.add_meta_data({'titlelength': len(title)})
