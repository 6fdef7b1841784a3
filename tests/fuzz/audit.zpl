obcast
    namespace = "obcast-local"
    max_payload = 1048576
    node
        name = "node0"
        key = "e1d9ee47419d326247d411cad5390c72fec5bb0e1065ecb67169a51629786608"
        endpoint = "tcp://127.0.0.1:19691"
        curve_key = "=3GA+PU!LxYngvP}8ik(^u9X}KJH&djihlEz7f<O"
    node
        name = "node1"
        key = "5751dac934ef344da31aefc3f8ceb9e716421ae7315ea6cb1d969b06f9bf9d48"
        endpoint = "tcp://127.0.0.1:19692"
        curve_key = "!t*@n-b9[kJ%UGZVkq<EC--gzIcpin^7{?RpE7S@"
    node
        name = "node2"
        key = "9c140263fd9ee213497ecf4a641c0922176f02862f3ce5cdec7f04297fa5a3f7"
        endpoint = "tcp://127.0.0.1:19693"
        curve_key = "u30PHMT}hQYENUh!w%3})HmZUSgmB9V3X^D}1tdk"
    node
        name = "node3"
        key = "c20a70f1bfa809deabe8e3485658ea30ae766cf30e1b917cb0cf40f4dd3a8404"
        endpoint = "tcp://127.0.0.1:19694"
        curve_key = ")PR.BOst592YRY!./3P[-6CLs6FAD8}-5?J9d]7L"
    epoch
        number = 1
        validators = "node0 node1 node2 node3"
        sequencers = "node0 node1"
