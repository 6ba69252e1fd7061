# Parses the original file: "Key: value" header lines until the first blank line.
import json

data = document.get_data_stream('documentdata')
if data is None:
    document.skip('no original file')
raw = data.read()
header = raw.split(b'\n\n', 1)[0].decode('utf-8', 'replace')
fields = {}
for line in header.splitlines():
    if ':' in line:
        key, value = line.split(':', 1)
        fields['sheet' + key.strip().lower()] = value.strip()
document.add_meta_data(fields)
log(json.dumps({'bytes': len(raw), 'type': type(raw).__name__}))
