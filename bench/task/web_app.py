"""The web benchmark's app (bench/web.py): one small FastAPI app and one small Flask app, each
behind runtime.web and behind the adapter users would pick instead."""

import time

from apig_wsgi import make_lambda_handler
from fastapi import BackgroundTasks, FastAPI
from flask import Flask, jsonify
from mangum import Mangum

from runtime.web import asgi, wsgi

api = FastAPI()


@api.get("/items/{item_id}")
def item(item_id: int, q: str = ""):
    return {"item_id": item_id, "q": q}


@api.post("/later")
def later(background: BackgroundTasks, seconds: float = 1.0):
    background.add_task(time.sleep, seconds)
    return {"accepted": True}


flask_app = Flask(__name__)


@flask_app.route("/items/<int:item_id>")
def flask_item(item_id):
    return jsonify(item_id=item_id, q="")


asgi_handler = asgi(api)
mangum_handler = Mangum(api)  # lifespan "auto", Mangum's default, as users get it
wsgi_handler = wsgi(flask_app)
apig_handler = make_lambda_handler(flask_app, binary_support=True)
