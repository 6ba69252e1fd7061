# Product enrichment from the PIM (pre-conversion).
#
# Catalogue pages only carry a SKU.  This script asks the product-information service (PIM)
# for that SKU and adds the product's name, brand, price, stock and categories as metadata,
# so they can be mapped to fields and used in facets.
#
# The PIM uses HTTP Basic authentication: the user is a parameter, the password comes from the
# vault entry `pim_api_password`, scoped to this extension's id.  It is never logged.
#
# An unreachable or failing PIM must not cost us the item: the item is indexed without the
# product fields and a Warning says why, so the next rebuild picks them up.
#
# Parameters (all optional):
#   pim_base_url  base URL of the PIM REST API (default: https://pim.acme.example/api/v2)
#   pim_user      the PIM user (default: coveo-indexer)
#   sku_field     the metadata holding the SKU (default: sku)
#   pim_timeout   seconds to wait for the PIM; keep it well under Coveo's 5 s limit (default: 3)

from urllib.parse import quote

import requests

base_url = parameters.get("pim_base_url", "https://pim.acme.example/api/v2").rstrip("/")
user = parameters.get("pim_user", "coveo-indexer")
sku_field = parameters.get("sku_field", "sku")
timeout = float(parameters.get("pim_timeout", "3"))

skus = document.get_meta_data_value(sku_field)
sku = str(skus[0]).strip() if skus else ""
if not sku:
    document.skip("no %s metadata: nothing to look up" % sku_field)

url = "%s/products/%s" % (base_url, quote(sku, safe=""))
try:
    response = requests.get(
        url,
        auth=(user, vault_parameters["pim_api_password"]),
        headers={"Accept": "application/json"},
        timeout=timeout,
    )
except requests.Timeout:
    log("PIM did not answer within %gs for SKU %s; indexed without product fields" % (timeout, sku), "Warning")
    response = None
except requests.RequestException as error:
    log("PIM unreachable for SKU %s (%s); indexed without product fields" % (sku, type(error).__name__), "Warning")
    response = None

product = None
if response is None:
    pass
elif response.status_code == 404:
    log("SKU %s is not in the PIM" % sku, "Warning")
elif response.status_code in (401, 403):
    log("PIM refused user %s (HTTP %d): check the pim_api_password vault entry" % (user, response.status_code), "Error")
elif response.status_code != 200:
    log("PIM answered HTTP %d for SKU %s; indexed without product fields" % (response.status_code, sku), "Warning")
else:
    try:
        product = response.json()
    except ValueError:
        log("PIM answer for SKU %s is not JSON; indexed without product fields" % sku, "Warning")

if isinstance(product, dict):
    fields = {
        "productname": product.get("name"),
        "productbrand": product.get("brand"),
        "productcategories": product.get("categories") or [],
    }
    stock = product.get("stock")
    if isinstance(stock, (int, float)) and not isinstance(stock, bool):
        fields["productinstock"] = "true" if stock > 0 else "false"
    price = product.get("price")
    if isinstance(price, dict) and price.get("amount") is not None:
        fields["productprice"] = float(price["amount"])
        fields["productcurrency"] = price.get("currency", "USD")
    fields = {name: value for name, value in fields.items() if value not in (None, "", [])}
    document.add_meta_data(fields)
    log("enriched SKU %s with %d fields from the PIM" % (sku, len(fields)))
