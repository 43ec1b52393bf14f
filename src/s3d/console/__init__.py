"""The web console at /_s3d/console/ (docs/console.md): sign-in, sessions and the browser app that signs its S3
and admin requests through the session, so every action is an ordinary signed request of the signed-in user."""
