"""The staff console (issue 11): a backend-for-frontend with server-rendered pages.

It keeps no data of its own. Every page is built from gRPC calls to the services made
with the signed-in person's own token, so the services' access rules decide what each
person sees and may do; the console only decides how it looks."""
