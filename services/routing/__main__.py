from services.routing.main import app

app.main()
