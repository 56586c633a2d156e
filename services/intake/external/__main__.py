from services.intake.external.main import main

main()
