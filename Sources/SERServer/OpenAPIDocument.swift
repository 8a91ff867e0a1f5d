import Foundation
import SERRecognition

/// The OpenAPI 3.1 description of what the server does, served at `/openapi.json`.
/// Tests walk it against the live routes, so it cannot drift silently.
enum OpenAPIDocument {
    static func text(maxUploadBytes: Int) -> String {
        RecognitionJSON.text(document(maxUploadBytes: maxUploadBytes))
    }

    /// The schemas of the bodies the server sends, by component name.
    static var schemas: [String: Any] {
        [
            "Error": ErrorAnswer.schema,
            "Segment": SegmentAnswer.schema,
            "Adaptation": AdaptationAnswer.schema,
            "Profile": ProfileStore.Summary.schema,
            "Prediction": ServerPrediction.schema,
            "BatchPrediction": BatchPrediction.schema,
            "StreamReady": StreamReady.schema,
            "StreamEvent": LiveEventAnswer.schema,
            "StreamNotice": StreamNotice.schema,
        ]
    }

    static func document(maxUploadBytes: Int) -> [String: Any] {
        let error: [String: Any] = ["$ref": "#/components/schemas/Error"]
        func response(_ description: String, _ schema: [String: Any] = error) -> [String: Any] {
            ["description": description, "content": ["application/json": ["schema": schema]]]
        }
        func query(_ name: String, _ schema: [String: Any], _ description: String) -> [String: Any] {
            ["name": name, "in": "query", "required": false, "schema": schema, "description": description]
        }
        let audioBody: [String: Any] = ["type": "string", "contentMediaType": "application/octet-stream"]
        let megabytes = maxUploadBytes / 1_048_576
        // How a recording is cut and which answers count: the same for one file and a batch.
        let answerParameters = [
            query("segments", ["type": "boolean"], "true: a timeline of utterances; false: one answer; absent: automatic beyond 30 s."),
            query("window", ["type": "number", "minimum": 0.5, "maximum": 600], "Fixed windows of this many seconds instead of utterances."),
            query("hop", ["type": "number", "minimum": 0.1, "maximum": 600], "Seconds between window starts (default: half the window), at most the window; only with window (400 otherwise)."),
            query("min_confidence", ["type": "number", "minimum": 0, "maximum": 1], "Answers below this probability become \"uncertain\"."),
        ]
        let predict: [String: Any] = [
            "summary": "The emotion a recording carries, and the speaker's gender",
            "description": "The body is the recording in any format ser reads (WAV, FLAC, OGG, MP3, AIFF, MP4/M4A/WebM via ffmpeg), or a multipart/form-data form with the file in a field named file. At most \(megabytes) MB. The answer is ser predict --format json's object for one file.",
            "operationId": "predict",
            "parameters": answerParameters + [
                query("visuals", ["type": "boolean"], "Adds waveform and spectrogram for drawing."),
                query("profile", ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"], "Adapt the answer to this speaker profile (404 when it does not exist, unless learn=true)."),
                query("learn", ["type": "boolean"], "With profile: also add the recording to the profile (creating it); the answer then carries profile."),
            ],
            "requestBody": ["required": true, "content": [
                "audio/*": ["schema": audioBody], "video/*": ["schema": audioBody], "application/octet-stream": ["schema": audioBody],
                "multipart/form-data": ["schema": ["type": "object", "properties": ["file": audioBody], "required": ["file"]]],
            ]],
            "responses": [
                "200": response("The answer.", ["$ref": "#/components/schemas/Prediction"]),
                "400": response("Malformed request: a bad parameter, an empty body, a form without a file."),
                "408": response("The body arrived slower than the server's minimum rate after its grace period."),
                "413": response("The body is over the size limit."),
                "415": response("The media type is not audio, video, octet-stream or a form."),
                "404": response("profile names no stored profile (and learn is not set), or the server keeps no profiles."),
                "409": response("The profile was learnt with other features than the server's model reads, or the model cannot adapt."),
                "422": response("The audio could not be decoded."),
                "429": response("Over this client's request rate (--rate-limit); retry after the Retry-After seconds."),
                "503": response("All inference slots are busy; retry after the Retry-After seconds."),
            ],
        ]
        let batch: [String: Any] = [
            "summary": "Several recordings answered together, adapted to the speaker's voice with same_speaker or a profile",
            "description": "The body is a multipart/form-data form with one part per recording (each with a filename, or named file), at most \(megabytes) MB in all. The answer lists ser predict --format json's object for each file, in order, or {path, error} for a file that failed. With same_speaker=true every recording is taken to be one voice: the answers are adapted with the statistics of all of them (each answer's adaptation says how many), as ser predict --same-speaker does. With profile=ID they are adapted to that stored voice.",
            "operationId": "predictBatch",
            "parameters": answerParameters + [
                query("same_speaker", ["type": "boolean"], "Every recording is the same voice: adapt each answer to all of them."),
                query("profile", ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"], "Adapt every answer to this stored speaker profile (404 when it does not exist)."),
            ],
            "requestBody": ["required": true, "content": [
                "multipart/form-data": ["schema": ["type": "object", "properties": ["file": ["type": "array", "items": audioBody]], "required": ["file"]]],
            ]],
            "responses": [
                "200": response("An answer per file.", ["$ref": "#/components/schemas/BatchPrediction"]),
                "400": response("Malformed request: a bad parameter, not a form, no file parts, an empty part, too many files, learn, or same_speaker with profile."),
                "404": response("profile names no stored profile, or the server keeps no profiles."),
                "408": response("The body arrived slower than the server's minimum rate after its grace period."),
                "409": response("The profile was learnt with other features, the model cannot adapt, or it reads only per-speaker z-scores and no speaker was given."),
                "413": response("The body is over the size limit."),
                "415": response("The body is not a multipart/form-data form."),
                "429": response("Over this client's request rate (--rate-limit); retry after the Retry-After seconds."),
                "503": response("All inference slots are busy; retry after the Retry-After seconds."),
            ],
        ]
        let profileID: [String: Any] = ["name": "id", "in": "path", "required": true,
                                        "schema": ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"], "description": "The profile's id."]
        let profileAnswer = response("The profile: utterance count and times, never its statistics.", ["$ref": "#/components/schemas/Profile"])
        let profiles: [String: Any] = [
            "parameters": [profileID],
            "put": ["summary": "Learn a recording of the speaker into the profile (created when new)", "operationId": "learnProfile",
                    "description": "The body is a recording, as for /v1/predict. Its speech's feature statistics (never the audio) are added in one transaction; concurrent updates all count.",
                    "requestBody": ["required": true, "content": ["audio/*": ["schema": audioBody], "video/*": ["schema": audioBody],
                                                                  "application/octet-stream": ["schema": audioBody],
                                                                  "multipart/form-data": ["schema": ["type": "object", "properties": ["file": audioBody], "required": ["file"]]]]],
                    "responses": ["200": profileAnswer, "400": response("A bad id or body."), "404": response("The server keeps no profiles."),
                                  "409": response("Learnt with other features, or the model cannot adapt."),
                                  "408": response("The body arrived too slowly."),
                                  "413": response("The body is over the size limit."), "422": response("Undecodable audio, or no speech in it."),
                                  "429": response("Over this client's request rate; retry after the Retry-After seconds."),
                                  "503": response("All inference slots are busy.")]],
            "get": ["summary": "What a profile holds: its utterance count and times", "operationId": "getProfile",
                    "responses": ["200": profileAnswer, "400": response("A bad id."), "404": response("No such profile.")]],
            "delete": ["summary": "Delete a profile (its rows are overwritten, not only unlinked)", "operationId": "deleteProfile",
                       "responses": ["204": ["description": "Deleted."], "400": response("A bad id."), "404": response("No such profile.")]],
        ]
        return [
            "openapi": "3.1.0",
            "info": ["title": "ser: speech emotion recognition", "version": ServerInfo.version,
                     "description": "Emotion (and gender) in recordings and live audio. The WebSocket /v1/stream takes PCM and sends ser listen's events; see its GET entry.",
                     "license": ["name": "Apache-2.0", "identifier": "Apache-2.0"]],
            "paths": [
                "/v1/predict": ["post": predict],
                "/v1/predict/batch": ["post": batch],
                "/v1/profiles/{id}": profiles,
                "/v1/model": ["get": ["summary": "The model: labels, features, training data, metrics and its card", "operationId": "model",
                                      "responses": ["200": response("The model's description.", ["type": "object", "required": ["labels", "file"],
                                                                                                 "properties": ["labels": ["type": "array", "items": ["type": "string"]],
                                                                                                                "file": ["type": "string"], "sample_rate": ["type": "integer"],
                                                                                                                "card": ["type": ["string", "null"]]]])]]],
                "/healthz": ["get": ["summary": "Liveness and load", "operationId": "health",
                                     "responses": ["200": response("Up.", ["type": "object", "required": ["status"],
                                                                          "properties": ["status": ["type": "string", "const": "ok"], "model": ["type": "string"],
                                                                                         "draining": ["type": "boolean"],
                                                                                         "uptime_seconds": ["type": "integer"], "inference": ["type": "object"]]])]]],
                "/readyz": ["get": ["summary": "Readiness for a load balancer: 503 once shutdown has begun (see --drain-seconds)", "operationId": "ready",
                                    "responses": ["200": response("Taking traffic.", ["type": "object", "required": ["status"],
                                                                                     "properties": ["status": ["type": "string", "const": "ready"], "model": ["type": "string"]]]),
                                                  "503": response("Shutting down: send requests to another replica.", ["type": "object", "required": ["status"],
                                                                                     "properties": ["status": ["type": "string", "const": "draining"]]])]]],
                "/openapi.json": ["get": ["summary": "This document", "operationId": "openapi",
                                          "responses": ["200": response("OpenAPI 3.1.", ["type": "object"])]]],
                "/v1/stream": ["get": [
                    "summary": "Live emotion over a WebSocket",
                    "description": "Upgrade to a WebSocket. Send first a text message {\"encoding\": \"s16le\"|\"f32le\", \"sample_rate\": N, \"channels\": N, \"window\": seconds, \"hop\": seconds} (only sample_rate required), then binary PCM frames; send {\"type\": \"end\"} to flush and close. The server answers {\"type\": \"ready\", \"adapts\"}, then one {\"type\": \"event\", \"t\", \"speech\", \"emotion\", \"confidence\", \"probabilities\", \"gender\", \"adaptation\"} per hop, and {\"type\": \"error\", \"error\"} before closing on a problem. With a model that adapts (adapts: true), each stretch of speech teaches it the voice and adaptation.utterances counts them; {\"type\": \"reset\"} forgets the voice (answered {\"type\": \"reset\"}), and \"new_speaker_after\": seconds in the first message forgets it after that long without speech.",
                    "operationId": "stream",
                    "responses": ["101": ["description": "Switching to the WebSocket protocol."],
                                  "426": response("A plain GET without the WebSocket upgrade headers.")],
                ]],
            ],
            // Every body's schema comes from its wire type (SERRecognition's WireFormat and the server's own).
            "components": ["schemas": schemas],
        ]
    }
}

/// The server's version, as the OpenAPI document and `Server` header report it.
public enum ServerInfo {
    /// The version of the HTTP API.
    public static let version = "0.1.0"
}
