"""The same FastAPI app and the same Flask app, each behind the adapter users pick today (Mangum,
apig-wsgi) and behind `runtime.web`, for the differential tests: every endpoint answers with what
it was given (method, path, query, headers, cookies, body, client, the Lambda event), or with the
kind of answer it is named for (binary, cookies set, redirects, errors, repeated headers)."""

import base64
import os
import time

from apig_wsgi import make_lambda_handler
from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from flask import Flask, jsonify, make_response, redirect
from flask import request as flask_request
from mangum import Mangum

import runtime
from runtime.web import asgi, wsgi

PNG = bytes(range(256)) * 4  # not UTF-8: must travel base64

api = FastAPI()
started = []


@api.on_event("startup")
def startup():
    started.append(time.time())
    print(f"lifespan startup {len(started)} in process {os.getpid()}", flush=True)


@api.on_event("shutdown")
def shutdown():
    print(f"lifespan shutdown in process {os.getpid()}", flush=True)


@api.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def echo(rest: str, request: Request):
    body = await request.body()
    return {
        "method": request.method,
        "path": request.url.path,
        "rest": rest,
        "query": request.url.query,
        "params": sorted(request.query_params.multi_items()),
        "x_multi": request.headers.getlist("x-multi"),
        "x_one": request.headers.get("x-one"),
        "content_type": request.headers.get("content-type"),
        "cookies": request.cookies,
        "client": request.client.host if request.client else None,
        "scheme": request.url.scheme,
        "body": base64.b64encode(body).decode(),
        "event_keys": sorted(request.scope["aws.event"])[:3],
        "function": getattr(request.scope["aws.context"], "function_name", None),
        "started": len(started),
    }


@api.get("/binary")
def binary():
    return Response(PNG, media_type="image/png")


@api.get("/text")
def text():
    return PlainTextResponse("grüße, ✓\n")


@api.get("/set-cookies")
def set_cookies():
    response = JSONResponse({"ok": True})
    response.set_cookie("session", "abc", httponly=True)
    response.set_cookie("theme", "dark")
    return response


@api.get("/repeated-headers")
def repeated_headers():
    return Response("x", headers=[("x-tag", "a"), ("x-tag", "b")], media_type="text/plain")


@api.get("/redirect")
def to_elsewhere():
    return RedirectResponse("/echo/there?from=redirect", status_code=307)


@api.get("/status/{code}")
def status(code: int):
    return JSONResponse({"code": code}, status_code=code)


@api.get("/boom")
def boom():
    raise RuntimeError("the endpoint failed")


@api.get("/empty")
def empty():
    return Response(status_code=204)


@api.get("/xml")
def xml():
    return Response("<a>1</a>", media_type="application/xml")


@api.post("/later")
def later(background: BackgroundTasks, seconds: float = 2.0):
    background.add_task(slow_work, seconds)
    return {"accepted": True}


def slow_work(seconds):
    time.sleep(seconds)
    print(f"background work done after {seconds} s", flush=True)
    runtime.defer(print, "deferred from the background task", flush=True)


@api.post("/later-fails")
def later_fails(background: BackgroundTasks):
    background.add_task(failing_work)
    return {"accepted": True}


def failing_work():
    raise ValueError("the background task failed")


@api.get("/stream")
def stream(held: str = ""):
    def chunks():
        yield "first\n"
        if held:  # the test releases it once the first chunk has arrived
            import urllib.request

            urllib.request.urlopen(held, timeout=30).read()
        yield "second\n"
        yield "last\n"

    return StreamingResponse(chunks(), media_type="text/plain")


@api.get("/stream-fails")
def stream_fails():
    def chunks():
        yield "first\n"
        raise RuntimeError("the stream failed mid-way")

    return StreamingResponse(chunks(), media_type="text/plain")


flask_app = Flask(__name__)
FLASK_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@flask_app.route("/echo/", defaults={"rest": ""}, methods=FLASK_METHODS)
@flask_app.route("/echo/<path:rest>", methods=FLASK_METHODS)
def flask_echo(rest):
    r = flask_request
    return jsonify(
        method=r.method,
        path=r.path,
        rest=rest,
        query=r.query_string.decode(),
        params=sorted(r.args.items(multi=True)),
        x_multi=r.headers.getlist("x-multi"),
        x_one=r.headers.get("x-one"),
        content_type=r.headers.get("content-type"),
        cookies=r.cookies.to_dict(),
        client=r.remote_addr,
        scheme=r.scheme,
        body=base64.b64encode(r.get_data()).decode(),
        event_keys=sorted(r.environ["apig_wsgi.full_event"])[:3],
    )


@flask_app.route("/binary")
def flask_binary():
    return flask_app.response_class(PNG, mimetype="image/png")


@flask_app.route("/text")
def flask_text():
    return flask_app.response_class("grüße, ✓\n", mimetype="text/plain")


@flask_app.route("/set-cookies")
def flask_set_cookies():
    response = make_response(jsonify(ok=True))
    response.set_cookie("session", "abc", httponly=True)
    response.set_cookie("theme", "dark")
    return response


@flask_app.route("/repeated-headers")
def flask_repeated_headers():
    response = flask_app.response_class("x", mimetype="text/plain")
    response.headers.add("x-tag", "a")
    response.headers.add("x-tag", "b")
    return response


@flask_app.route("/redirect")
def flask_redirect():
    return redirect("/echo/there?from=redirect", code=307)


@flask_app.route("/status/<int:code>")
def flask_status(code):
    return jsonify(code=code), code


@flask_app.route("/boom")
def flask_boom():
    raise RuntimeError("the endpoint failed")


@flask_app.route("/empty")
def flask_empty():
    return "", 204


@flask_app.route("/xml")
def flask_xml():
    return flask_app.response_class("<a>1</a>", mimetype="application/xml")


@flask_app.route("/later", methods=["POST"])
def flask_later():
    from flask import after_this_request

    seconds = float(flask_request.args.get("seconds", 2))

    @after_this_request
    def work_on_close(response):
        response.call_on_close(lambda: slow_work(seconds))
        return response

    return jsonify(accepted=True)


asgi_handler = asgi(api)
asgi_streaming = asgi(api, streaming=True, lifespan="off")
mangum_handler = Mangum(api, lifespan="off")
wsgi_handler = wsgi(flask_app)
apig_handler = make_lambda_handler(flask_app, binary_support=True)
