from services.devstack.cli import devstack_app

if __name__ == "__main__":
    devstack_app()
