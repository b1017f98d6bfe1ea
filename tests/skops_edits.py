"""skops files changed member by member, as a tampered file would be."""

import io
import json
import zipfile


def edited_skops(blob, edit):
    """``blob`` with its members changed by ``edit(schema, files)``: the
    parsed schema.json and the other members by name, edited in place."""
    source = zipfile.ZipFile(io.BytesIO(blob))
    schema = json.loads(source.read("schema.json"))
    files = {name: source.read(name) for name in source.namelist() if name != "schema.json"}
    edit(schema, files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("schema.json", json.dumps(schema))
        for name, content in files.items():
            target.writestr(name, content)
    return out.getvalue()
