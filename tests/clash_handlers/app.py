def handler(event, context):
    return {"served": True}
