import datetime
import json

indexed = datetime.datetime(2024, 1, 2, 3, 4, 5)
summary = json.dumps({'title': document.get_meta_data_value('title')[0], 'indexed': indexed,
                      'day': datetime.date(2024, 1, 2), 'tags': {'heavy'}})
log(summary)
document.add_meta_data({'summary': summary, 'indexeddate': indexed})
